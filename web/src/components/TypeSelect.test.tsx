import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { MODELS } from "../test/fixtures";
import { initialChoice, TypeSelect, type Choice } from "./TypeSelect";


function Harness({ onChange }: { onChange?: (c: Choice) => void }) {
  const [choice, setChoice] = useState<Choice>(initialChoice(MODELS));
  return (
    <TypeSelect
      models={MODELS}
      value={choice}
      onChange={(c) => {
        setChoice(c);
        onChange?.(c);
      }}
    />
  );
}

describe("TypeSelect", () => {
  it("offers the five types under the label 'Select type', starting on an installed one", () => {
    render(<Harness />);
    const select = screen.getByLabelText("Select type");
    expect(Array.from((select as HTMLSelectElement).options).map((o) => o.value)).toEqual(["none", "sr", "restore", "restore_scratch", "sr2d"]);
    expect(select).toHaveValue("sr");
  });

  it("shows only the options of the chosen type", async () => {
    render(<Harness />);
    const select = screen.getByLabelText("Select type");
    expect(screen.getByLabelText("Scale")).toBeInTheDocument();
    expect(screen.queryByLabelText("Noise level")).not.toBeInTheDocument();

    await userEvent.selectOptions(select, "none");
    expect(screen.queryByLabelText("Scale")).not.toBeInTheDocument();
    expect(screen.queryByLabelText("Style")).not.toBeInTheDocument();

    await userEvent.selectOptions(select, "sr2d");
    expect(screen.getByLabelText("Noise level")).toBeInTheDocument();
    expect(screen.getByLabelText("Style")).toBeInTheDocument();
    expect(Array.from((screen.getByLabelText("Scale") as HTMLSelectElement).options).map((o) => o.value)).toEqual(["1", "2", "4"]);
  });

  it("resets options to the new type's defaults and keeps values typed", async () => {
    const onChange = vi.fn();
    render(<Harness onChange={onChange} />);
    await userEvent.selectOptions(screen.getByLabelText("Select type"), "sr2d");
    expect(onChange).toHaveBeenLastCalledWith({ type: "sr2d", options: { noise: 1, scale: 2, style: "art" } });

    await userEvent.selectOptions(screen.getByLabelText("Noise level"), "-1");
    expect(onChange).toHaveBeenLastCalledWith({ type: "sr2d", options: { noise: -1, scale: 2, style: "art" } });
    await userEvent.selectOptions(screen.getByLabelText("Style"), "photo");
    expect(onChange).toHaveBeenLastCalledWith({ type: "sr2d", options: { noise: -1, scale: 2, style: "photo" } });
  });

  it("shows models without weights as disabled, with the reason", () => {
    render(<Harness />);
    const restore = screen.getByRole("option", { name: "Restoration w/o scratches (unavailable)" });
    expect(restore).toBeDisabled();
    expect(screen.getByRole("option", { name: "SR" })).toBeEnabled();
    const note = screen.getByRole("note", { name: "Unavailable types" });
    expect(note).toHaveTextContent("Restoration w/ scratches — BOPB weights are not installed");
  });
});
