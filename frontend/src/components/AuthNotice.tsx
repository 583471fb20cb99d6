import type { Access } from '../lib/hubAccess';
import { API_KEY_INPUT_ID } from './ApiKeyField';

const focusKeyField = () => {
  const input = document.getElementById(API_KEY_INPUT_ID);
  input?.scrollIntoView({ block: 'nearest' });
  input?.focus();
};

/** Why the hub refused the key, and the way to the field that fixes it. */
export function AuthNotice({ access, what = 'The stream', then = 'It waits, without retrying, until the key changes.' }: { access: Access; what?: string; then?: string }) {
  const refused = access.kind === 'key-refused';
  return (
    <div className="notice bad" role="alert" data-testid="auth-notice" data-access={access.kind}>
      <p>
        {what} needs an API key: the hub answered <strong>401</strong>
        {access.detail !== null && <> ({access.detail})</>}.{' '}
        {refused ? 'The key in the API key field was refused.' : 'This hub has keys and none is set.'} {then}
      </p>
      <button type="button" onClick={focusKeyField} data-testid="auth-notice-fix">
        {refused ? 'Change the API key' : 'Enter an API key'}
      </button>
    </div>
  );
}
