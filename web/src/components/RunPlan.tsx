// What one "Run" starts: one or more types (or one type with several option sets) and the result's file format.
import { useId, useState } from "react";
import { newIdempotencyKey } from "../api/client";
import type { Model, OutputChoice, OutputFormat } from "../api/types";
import { describeOptions } from "../state/models";
import { initialChoice, TypeSelect, type Choice } from "./TypeSelect";

/** One job of a run: a type, its options and the result's format (one type may run with several of these). */
export interface RunItem extends Choice {
  output: OutputChoice;
}

export interface RunPlan {
  /** Every type, option set and format to run, in order, without duplicates. */
  choices: RunItem[];
  output: OutputChoice;
}

const FORMATS: { value: OutputFormat; label: string }[] = [
  { value: "auto", label: "Automatic (PNG for lossless or transparent originals, else JPEG)" },
  { value: "png", label: "PNG (lossless)" },
  { value: "webp", label: "WebP" },
  { value: "jpeg", label: "JPEG" },
];

export function formatLabel(output: OutputChoice | null | undefined): string {
  if (!output || output.format === "auto") return "";
  const name = output.format === "jpeg" ? "JPEG" : output.format === "webp" ? "WebP" : "PNG";
  return output.format === "png" ? name : `${name} q${output.quality ?? 90}`;
}

export function choiceLabel(models: Model[], choice: Choice & { output?: OutputChoice }): string {
  const model = models.find((m) => m.type === choice.type);
  const options = describeOptions(model, choice.options);
  return [model?.label ?? choice.type, options === "—" ? "" : options, formatLabel(choice.output)].filter(Boolean).join(", ");
}

/** What the server is asked for: quality only where the format has one, flatten only for JPEG. */
function outputBody(output: OutputChoice): OutputChoice {
  const body: OutputChoice = { format: output.format };
  if (output.format === "jpeg" || output.format === "webp") body.quality = output.quality ?? 90;
  if (output.format === "jpeg" && output.flatten) body.flatten = true;
  return body;
}

const same = (a: RunItem, b: RunItem) =>
  a.type === b.type &&
  JSON.stringify(a.options) === JSON.stringify(b.options) &&
  JSON.stringify(outputBody(a.output)) === JSON.stringify(outputBody(b.output));

/** The body of one POST /api/jobs per choice; several share a batch {id, size}. */
export function jobBodies(imageId: string, plan: RunPlan, batch?: { id: string; size: number }) {
  return plan.choices.map((c) => ({
    image_id: imageId,
    type: c.type,
    options: c.options,
    output: outputBody(c.output),
    ...(batch ? { batch } : {}),
  }));
}

export function newBatch(size: number): { id: string; size: number } | undefined {
  return size > 1 ? { id: newIdempotencyKey(), size } : undefined;
}

export function useRunPlan(models: Model[] | null) {
  const [choice, setChoice] = useState<Choice | null>(null);
  const [added, setAdded] = useState<RunItem[]>([]);
  const [output, setOutput] = useState<OutputChoice>({ format: "auto", quality: 90 });
  const selected = choice ?? (models ? initialChoice(models) : null);
  const current: RunItem | null = selected ? { ...selected, output } : null;
  const choices = [...added];
  if (current && !choices.some((c) => same(c, current))) choices.push(current);
  const plan: RunPlan = { choices, output };
  return { plan, current, setChoice, added, setAdded, output, setOutput };
}

export function RunPlanFields({
  models,
  state,
  disabled = false,
}: {
  models: Model[];
  state: ReturnType<typeof useRunPlan>;
  disabled?: boolean;
}) {
  const id = useId();
  const { current, setChoice, added, setAdded, output, setOutput } = state;
  if (!current) return null;
  const currentModel = models.find((m) => m.type === current.type);
  const alreadyAdded = added.some((c) => same(c, current));
  return (
    <div className="run-plan">
      <TypeSelect models={models} value={current} onChange={setChoice} disabled={disabled} />

      {added.length > 0 && (
        <ul className="run-list" aria-label="Types in this run">
          {added.map((c, index) => (
            <li key={`${c.type}-${JSON.stringify(c.options)}`}>
              <span>{choiceLabel(models, c)}</span>
              <button
                type="button"
                className="btn-link"
                disabled={disabled}
                aria-label={`Remove ${choiceLabel(models, c)} from this run`}
                onClick={() => setAdded(added.filter((_, i) => i !== index))}
              >
                Remove
              </button>
            </li>
          ))}
          {!alreadyAdded && <li className="hint">and {choiceLabel(models, current)} (selected here)</li>}
        </ul>
      )}
      <div className="field">
        <label htmlFor={`${id}-format`}>Result format</label>
        <select
          id={`${id}-format`}
          value={output.format}
          disabled={disabled}
          onChange={(e) => setOutput({ ...output, format: e.target.value as OutputFormat })}
        >
          {FORMATS.map((f) => (
            <option key={f.value} value={f.value}>
              {f.label}
            </option>
          ))}
        </select>
      </div>
      {(output.format === "jpeg" || output.format === "webp") && (
        <div className="field">
          <label htmlFor={`${id}-quality`}>Quality ({output.quality ?? 90})</label>
          <input
            id={`${id}-quality`}
            type="range"
            min={1}
            max={100}
            value={output.quality ?? 90}
            disabled={disabled}
            onChange={(e) => setOutput({ ...output, quality: Number(e.target.value) })}
          />
        </div>
      )}
      {output.format === "jpeg" && (
        <div className="field field-check">
          <input
            id={`${id}-flatten`}
            type="checkbox"
            checked={output.flatten === true}
            disabled={disabled}
            onChange={(e) => setOutput({ ...output, flatten: e.target.checked })}
          />
          <label htmlFor={`${id}-flatten`}>Flatten transparency onto white (JPEG has none)</label>
        </div>
      )}
      <button
        type="button"
        className="btn btn-small"
        disabled={disabled || alreadyAdded || !currentModel?.available}
        onClick={() => setAdded([...added, current])}
      >
        Add another type to this run
      </button>
    </div>
  );
}
