#!/usr/bin/env bash
# Deletes the queues that earlier test and benchmark runs left on this machine's RabbitMQ (runs killed before
# their own clean-up). Why it matters: every quorum queue holds file handles in the broker, and a few hundred
# leftovers exhaust a default node's 1024, after which it accepts TCP but never answers the AMQP handshake.
# Only names made by test runs (t<pid><hex>.…), benchmarks (bench<hex>.…) and second installations
# (renovo_<hex>.…) are touched. CI calls it before the suite; run it by hand when no other suite is running.
set -uo pipefail
command -v rabbitmqctl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || exit 0
expr='length([begin rabbit_amqqueue:delete(Q, false, false, <<"renovo-sweep">>), Q end
  || Q <- rabbit_amqqueue:list(),
     re:run(element(4, amqqueue:get_name(Q)), "^(t[0-9]+[0-9a-f]*s?|bench[0-9a-f]+|renovo_[0-9a-f]+)\\.") =/= nomatch]).'
if n=$(timeout 120 rabbitmqctl -q eval "$expr" 2>/dev/null); then
    echo "broker sweep: deleted ${n} leftover test queue(s)"
else
    echo "broker sweep: skipped (rabbitmqctl could not reach the local node)"
fi
