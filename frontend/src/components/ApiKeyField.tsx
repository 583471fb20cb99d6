import { useId, useState, type FormEvent } from 'react';
import { useApiKey } from '../hooks/useApiKey';

/** The run-time API key: typed by the user, kept in sessionStorage only. */
export function ApiKeyField() {
  const [key, setKey] = useApiKey();
  const [draft, setDraft] = useState(key);
  const id = useId();
  const save = (e: FormEvent) => {
    e.preventDefault();
    setKey(draft);
  };
  return (
    <form className="apikey" onSubmit={save} aria-label="API key">
      <label htmlFor={id}>API key</label>
      <input id={id} type="password" autoComplete="off" placeholder="none (open hub)" value={draft} onChange={(e) => setDraft(e.target.value)} data-testid="api-key" />
      <button type="submit" disabled={draft.trim() === key}>
        {key === '' ? 'Use' : 'Update'}
      </button>
    </form>
  );
}
