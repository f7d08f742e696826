// GET /api/models, fetched once per session and shared.
import { useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import type { Model, ModelOption, OptionValue } from "../api/types";

let cached: { client: ApiClient; promise: Promise<Model[]> } | null = null;

export function loadModels(client: ApiClient): Promise<Model[]> {
  if (!cached || cached.client !== client) {
    const promise = client.get<{ items: Model[] }>("/api/models").then((r) => r.items);
    promise.catch(() => (cached = null));
    cached = { client, promise };
  }
  return cached.promise;
}

export function useModels(client: ApiClient): { models: Model[] | null; error: string | null } {
  const [state, setState] = useState<{ models: Model[] | null; error: string | null }>({ models: null, error: null });
  useEffect(() => {
    let live = true;
    loadModels(client).then(
      (models) => live && setState({ models, error: null }),
      (e: Error) => live && setState({ models: null, error: e.message }),
    );
    return () => {
      live = false;
    };
  }, [client]);
  return state;
}

export function defaultOptions(model: Model | undefined): Record<string, OptionValue> {
  return Object.fromEntries((model?.options ?? []).map((o) => [o.name, o.default]));
}

export function formatOptionValue(option: ModelOption | undefined, value: OptionValue): string {
  if (typeof value === "boolean") return value ? "on" : "off";
  if (option?.name === "scale") return `×${value}`;
  return String(value);
}

/** "Scale ×4, Enhance faces off" for the history list. */
export function describeOptions(model: Model | undefined, options: Record<string, OptionValue>): string {
  const parts = Object.entries(options ?? {}).map(([name, value]) => {
    const option = model?.options.find((o) => o.name === name);
    return `${option?.label ?? name} ${formatOptionValue(option, value)}`;
  });
  return parts.length ? parts.join(", ") : "—";
}
