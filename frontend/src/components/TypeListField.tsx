import { useId } from 'react';

const TYPE_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/** Valid event type names from comma-separated text (invalid ones are ignored). */
export function parseTypeList(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => TYPE_RE.test(t));
}

/** A text field for custom event type names, comma separated. */
export function TypeListField({ label, value, onChange, testId }: { label: string; value: string; onChange: (text: string) => void; testId?: string }) {
  const id = useId();
  const bad = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '' && !TYPE_RE.test(t));
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} value={value} onChange={(e) => onChange(e.target.value)} placeholder="e.g. orderShipped, userJoined" aria-invalid={bad.length > 0} aria-describedby={`${id}-err`} data-testid={testId} />
      <span id={`${id}-err`} className="text-bad small">
        {bad.length > 0 ? `ignored (not a valid type name): ${bad.join(', ')}` : ''}
      </span>
    </div>
  );
}
