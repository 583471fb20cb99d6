import { useId } from 'react';
import { KNOWN_TYPES } from '@ssehub/client';

/** Checkboxes for the known event types (an empty selection means all). */
export function FilterPicker({ value, onChange }: { value: readonly string[]; onChange: (next: string[]) => void }) {
  const id = useId();
  const toggle = (t: string) => onChange(value.includes(t) ? value.filter((v) => v !== t) : [...value, t]);
  return (
    <fieldset className="filter-picker" aria-describedby={`${id}-hint`}>
      <legend>Event types</legend>
      {KNOWN_TYPES.map((t) => (
        <label key={t}>
          <input type="checkbox" checked={value.includes(t)} onChange={() => toggle(t)} data-testid={`filter-${t}`} /> {t}
        </label>
      ))}
      <span id={`${id}-hint`} className="muted">
        {value.length === 0 ? 'none checked: all types' : `filter=${value.join(',')}`}
      </span>
    </fieldset>
  );
}
