import { useHubAccess } from '../../hooks/useHubAccess';
import { needsKey } from '../../lib/hubAccess';
import { AuthNotice } from '../AuthNotice';

/** On a hub whose key is missing or refused, the console says so first (its polls get 401). */
export function KeyGate() {
  const access = useHubAccess();
  return needsKey(access) ? <AuthNotice access={access} what="The operator console" then="It asks again, backing off, and at once when the key changes." /> : null;
}
