import type { Access } from '../lib/hubAccess';

/** Why a button is disabled: the key cannot do this (learned from the hub's answers). */
export function ScopeNote({ id, access, action }: { id: string; access: Access; action: string }) {
  const why =
    access.kind === 'subscribe'
      ? 'this API key has subscribe scope only (the hub answered 403 insufficient_scope); use a publish key'
      : access.kind === 'key-refused'
        ? 'the hub refused this API key (401); change it in the API key field'
        : 'this hub needs an API key with publish scope; enter one in the API key field';
  return (
    <p id={id} className="small scope-note" data-testid="scope-note" data-access={access.kind}>
      {action} is not available: {why}.
    </p>
  );
}
