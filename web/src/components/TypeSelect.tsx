// "Select type" and the options of the chosen type; options of other types are not shown.
import { useId } from "react";
import type { Model, OptionValue } from "../api/types";
import { defaultOptions, formatOptionValue } from "../state/models";

export interface Choice {
  type: string;
  options: Record<string, OptionValue>;
}

/** The type a newcomer most likely wants: the first installed one that changes the image, else None. */
export function initialChoice(models: Model[]): Choice {
  const model = models.find((m) => m.available && m.type !== "none") ?? models.find((m) => m.available) ?? models[0];
  return { type: model?.type ?? "none", options: defaultOptions(model) };
}

export function TypeSelect({
  models,
  value,
  onChange,
  disabled = false,
}: {
  models: Model[];
  value: Choice;
  onChange(choice: Choice): void;
  disabled?: boolean;
}) {
  const id = useId();
  const selected = models.find((m) => m.type === value.type);
  const unavailable = models.filter((m) => !m.available);

  const setOption = (name: string, raw: string | boolean) => {
    const option = selected?.options.find((o) => o.name === name);
    // Select values come back as strings; map them to the original choice (number, boolean or string).
    const parsed = option?.choices.find((c) => String(c) === String(raw)) ?? raw;
    onChange({ type: value.type, options: { ...value.options, [name]: parsed } });
  };

  return (
    <div className="type-select">
      <div className="field">
        <label htmlFor={`${id}-type`}>Select type</label>
        <select
          id={`${id}-type`}
          value={value.type}
          disabled={disabled}
          aria-describedby={`${id}-desc`}
          onChange={(e) => {
            const model = models.find((m) => m.type === e.target.value);
            onChange({ type: e.target.value, options: defaultOptions(model) });
          }}
        >
          {models.map((m) => (
            <option key={m.type} value={m.type} disabled={!m.available}>
              {m.available ? m.label : `${m.label} (unavailable)`}
            </option>
          ))}
        </select>
        <p id={`${id}-desc`} className="hint">
          {selected?.description}
        </p>
      </div>
      {selected?.options.map((option) => {
        const optionId = `${id}-${option.name}`;
        const current = value.options[option.name] ?? option.default;
        const isBoolean = option.choices.every((c) => typeof c === "boolean");
        if (isBoolean) {
          return (
            <div className="field field-check" key={option.name}>
              <input
                id={optionId}
                type="checkbox"
                checked={current === true}
                disabled={disabled}
                onChange={(e) => setOption(option.name, e.target.checked)}
                aria-describedby={option.description ? `${optionId}-desc` : undefined}
              />
              <label htmlFor={optionId}>{option.label}</label>
              {option.description && (
                <span id={`${optionId}-desc`} className="hint">
                  {option.description}
                </span>
              )}
            </div>
          );
        }
        return (
          <div className="field" key={option.name}>
            <label htmlFor={optionId}>{option.label}</label>
            <select
              id={optionId}
              value={String(current)}
              disabled={disabled}
              onChange={(e) => setOption(option.name, e.target.value)}
              aria-describedby={option.description ? `${optionId}-desc` : undefined}
            >
              {option.choices.map((choice) => (
                <option key={String(choice)} value={String(choice)}>
                  {formatOptionValue(option, choice)}
                </option>
              ))}
            </select>
            {option.description && (
              <p id={`${optionId}-desc`} className="hint">
                {option.description}
              </p>
            )}
          </div>
        );
      })}
      {unavailable.length > 0 && (
        <div className="unavailable" role="note" aria-label="Unavailable types">
          <p className="hint">Not installed on this server:</p>
          <ul>
            {unavailable.map((m) => (
              <li key={m.type}>
                <strong>{m.label}</strong> — {m.reason ?? "model weights are not installed"}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
