import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { Link, matchPath, navigate, usePath, useSearchParams } from "./router";

function Where() {
  const path = usePath();
  const params = useSearchParams();
  return (
    <p>
      at {path} job={params.get("job") ?? "-"}
    </p>
  );
}

describe("router", () => {
  it("matches patterns and decodes their parameters", () => {
    expect(matchPath("/images/:id", "/images/a%20b")).toEqual({ id: "a b" });
    expect(matchPath("/images/:id", "/images/x/")).toEqual({ id: "x" });
    expect(matchPath("/images/:id", "/images/x/y")).toBeNull();
    expect(matchPath("/albums/:id", "/images/x")).toBeNull();
  });

  it("follows links without reloading, keeps modified clicks for the browser, and scrolls new screens to the top", async () => {
    const scrollTo = vi.fn();
    window.scrollTo = scrollTo as unknown as typeof window.scrollTo;
    render(
      <>
        <Where />
        <Link href="/images/1?job=j">Image</Link>
      </>,
    );
    expect(screen.getByText(/at \/ job=-/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("link", { name: "Image" }));
    expect(screen.getByText("at /images/1 job=j")).toBeInTheDocument();
    expect(scrollTo).toHaveBeenCalledWith(0, 0);
    const before = window.history.length;
    await userEvent.keyboard("{Control>}");
    await userEvent.click(screen.getByRole("link", { name: "Image" }), { skipHover: true });
    await userEvent.keyboard("{/Control}");
    expect(window.history.length).toBe(before);
  });

  it("replaces without a new history entry, ignores navigating to where it is, and follows back/forward", () => {
    render(<Where />);
    act(() => navigate("/albums/a"));
    const length = window.history.length;
    act(() => navigate("/albums/a"));
    expect(window.history.length).toBe(length);
    act(() => navigate("/albums/b", { replace: true }));
    expect(window.history.length).toBe(length);
    expect(screen.getByText(/at \/albums\/b/)).toBeInTheDocument();
    act(() => {
      window.history.replaceState(null, "", "/settings");
      window.dispatchEvent(new PopStateEvent("popstate"));
    });
    expect(screen.getByText(/at \/settings/)).toBeInTheDocument();
  });
});
