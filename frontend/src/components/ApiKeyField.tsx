import { useState, type FormEvent } from 'react';
import { useApiKey } from '../hooks/useApiKey';
import { useHubAccess } from '../hooks/useHubAccess';
import type { Access } from '../lib/hubAccess';

/** The id notices use to send the user to the key field. */
export const API_KEY_INPUT_ID = 'api-key';

function placeholder(a: Access): string {
  if (a.kind === 'open') return 'none needed (open hub)';
  if (a.kind === 'key-required') return 'required by this hub';
  return 'API key';
}

function verdict(a: Access): { text: string; tone: 'good' | 'bad' | 'muted' } | null {
  switch (a.kind) {
    case 'open':
      return { text: 'open hub: no key needed', tone: 'muted' };
    case 'key-required':
      return { text: 'this hub needs a key', tone: 'bad' };
    case 'key-refused':
      return { text: 'key refused (401)', tone: 'bad' };
    case 'subscribe':
      return { text: 'subscribe only: cannot publish', tone: 'muted' };
    case 'publish':
      return { text: 'publish key', tone: 'good' };
    case 'unknown':
      return null;
  }
}

/** The run-time API key: typed by the user, kept in sessionStorage only. */
export function ApiKeyField() {
  const [key, setKey] = useApiKey();
  const access = useHubAccess();
  const [draft, setDraft] = useState(key);
  const save = (e: FormEvent) => {
    e.preventDefault();
    setKey(draft);
  };
  const clear = () => {
    setDraft('');
    setKey('');
  };
  const v = verdict(access);
  const bad = access.kind === 'key-required' || access.kind === 'key-refused';
  return (
    <form className={bad ? 'apikey apikey-bad' : 'apikey'} onSubmit={save} aria-label="API key">
      <label htmlFor={API_KEY_INPUT_ID}>API key</label>
      <input
        id={API_KEY_INPUT_ID}
        type="password"
        autoComplete="off"
        placeholder={placeholder(access)}
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        aria-invalid={bad}
        aria-describedby="api-key-verdict"
        data-testid="api-key"
      />
      <button type="submit" disabled={draft.trim() === key}>
        {key === '' ? 'Use' : 'Update'}
      </button>
      {key !== '' && (
        <button type="button" onClick={clear} data-testid="api-key-clear">
          Forget key
        </button>
      )}
      <span id="api-key-verdict" className={`apikey-verdict text-${v?.tone ?? 'muted'}`} role="status" data-testid="api-key-verdict" data-access={access.kind}>
        {v?.text ?? ''}
      </span>
    </form>
  );
}
