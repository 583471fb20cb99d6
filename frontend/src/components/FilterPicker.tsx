import { KNOWN_TYPES } from '@ssehub/client';
import { useId } from 'react';

/** The `filter=` of a stream URL, as the hub received it: null when there is none. */
export function sentFilter(streamUrl: string | null): string | null {
  if (streamUrl === null) return null;
  const f = new URL(streamUrl, 'http://x').searchParams.get('filter');
  return f === null || f === '' ? null : f;
}

interface Props {
  value: readonly string[];
  onChange: (next: string[]) => void;
  /** The stream's current URL: the label shows the filter actually sent, not the boxes. */
  streamUrl: string | null;
}

/** Checkboxes for the known event types (an empty selection means all). */
export function FilterPicker({ value, onChange, streamUrl }: Props) {
  const id = useId();
  const toggle = (t: string) => onChange(value.includes(t) ? value.filter((v) => v !== t) : [...value, t]);
  const sent = sentFilter(streamUrl);
  return (
    <fieldset className="filter-picker" aria-describedby={`${id}-hint`}>
      <legend>Event types</legend>
      {KNOWN_TYPES.map((t) => (
        <label key={t}>
          <input type="checkbox" checked={value.includes(t)} onChange={() => toggle(t)} data-testid={`filter-${t}`} /> {t}
        </label>
      ))}
      <span id={`${id}-hint`} className="muted" data-testid="filter-sent">
        {streamUrl === null ? 'not connected' : sent === null ? 'sent: no filter (every type)' : `sent: filter=${sent}`}
      </span>
    </fieldset>
  );
}
