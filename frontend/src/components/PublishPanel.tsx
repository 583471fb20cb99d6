import { useCallback, useId, useState, type FormEvent } from 'react';
import { useAction } from '../hooks/useAction';
import { useAnsweredSince } from '../hooks/useAnsweredSince';
import { useHubAccess } from '../hooks/useHubAccess';
import { useHubApi } from '../hooks/useHubApi';
import { useHubFeatures } from '../hooks/useHubFeatures';
import { isUnreachable, type HubApi, type Published } from '../lib/api';
import { canPublish } from '../lib/hubAccess';
import { clock } from '../lib/time';
import { ScopeNote } from './ScopeNote';
import { parseTopicList, TopicsField } from './TopicsField';

type Kind = 'notification' | 'alert' | 'dataUpdate' | 'custom';

interface Draft {
  kind: Kind;
  target: 'broadcast' | 'client';
  clientId: string;
  message: string;
  severity: string;
  category: string;
  entityType: string;
  entityId: string;
  changes: string;
  eventType: string;
  data: string;
  topics: string;
}

const SEVERITIES: Record<Kind, string[]> = {
  notification: ['info', 'success', 'warning', 'error'],
  alert: ['low', 'medium', 'high', 'critical'],
  dataUpdate: [],
  custom: [],
};

/** JSON if it parses, else the text as a JSON string (so "hello" needs no quotes). */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function publish(api: HubApi, d: Draft, withTopics: boolean): Promise<Published> {
  const to = d.target === 'client' ? d.clientId.trim() : undefined;
  const topics = withTopics ? parseTopicList(d.topics).valid : [];
  switch (d.kind) {
    case 'notification':
      return api.notification({ message: d.message, severity: d.severity, topics }, to);
    case 'alert':
      return api.alert({ message: d.message, severity: d.severity, category: d.category, topics }, to);
    case 'dataUpdate': {
      const changes = d.changes.trim() === '' ? {} : jsonOrText(d.changes);
      if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) {
        return Promise.reject(new Error('changes must be a JSON object'));
      }
      return api.dataUpdate({ entityType: d.entityType, entityId: d.entityId, changes: changes as Record<string, unknown>, topics }, to);
    }
    case 'custom': {
      const data = jsonOrText(d.data);
      return to === undefined ? api.broadcast(data, d.eventType.trim(), topics) : api.send(to, data, d.eventType.trim(), topics);
    }
  }
}

const TOPICS = ['topics'] as const;
const NONE = [] as const;

interface Props {
  defaultClientId?: string;
  compact?: boolean;
  /** Offer the topics field (hubs with topics; disabled with a note on others). */
  withTopics?: boolean;
  defaultTopics?: string;
}

/** Publish any kind of event, broadcast or to one client id, optionally with topics. */
export function PublishPanel({ defaultClientId = '', compact = false, withTopics = false, defaultTopics = '' }: Props) {
  const api = useHubApi();
  const access = useHubAccess();
  const features = useHubFeatures(withTopics ? TOPICS : NONE);
  const allowed = canPublish(access);
  const topicsOn = withTopics && features.topics === true;
  const id = useId();
  const [d, setD] = useState<Draft>({
    kind: 'notification',
    target: 'broadcast',
    clientId: defaultClientId,
    message: 'Deployment finished',
    severity: 'info',
    category: 'system',
    entityType: 'order',
    entityId: '42',
    changes: '{"status":"shipped"}',
    eventType: 'orderShipped',
    data: '{"orderId":42}',
    topics: defaultTopics,
  });
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((prev) => ({ ...prev, [k]: v }));
  const send = useCallback((draft: Draft) => publish(api, draft, topicsOn), [api, topicsOn]);
  const action = useAction(send);
  // "hub unreachable" stops being true once it answers again: then the line says so.
  const backAt = useAnsweredSince(isUnreachable(action.failure) ? action.at : null);

  const onKind = (kind: Kind) =>
    setD((prev) => ({ ...prev, kind, severity: SEVERITIES[kind][kind === 'alert' ? 2 : 0] ?? prev.severity }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void action.run(d);
  };
  const f = (name: string) => `${id}-${name}`;

  return (
    <form className={compact ? 'panel publish compact' : 'panel publish'} onSubmit={submit} aria-label="Publish an event" data-testid="publish-panel">
      <h2>Publish</h2>
      <div className="field">
        <label htmlFor={f('kind')}>Event kind</label>
        <select id={f('kind')} value={d.kind} onChange={(e) => onKind(e.target.value as Kind)} data-testid="publish-kind">
          <option value="notification">notification</option>
          <option value="alert">alert</option>
          <option value="dataUpdate">data update</option>
          <option value="custom">custom type</option>
        </select>
      </div>
      <fieldset className="field target">
        <legend>Send to</legend>
        <label>
          <input type="radio" name={f('target')} checked={d.target === 'broadcast'} onChange={() => set('target', 'broadcast')} /> everyone
        </label>
        <label>
          <input type="radio" name={f('target')} checked={d.target === 'client'} onChange={() => set('target', 'client')} data-testid="publish-target-client" /> one client
        </label>
        {d.target === 'client' && (
          <input aria-label="Target client id" value={d.clientId} onChange={(e) => set('clientId', e.target.value)} required placeholder="client id" data-testid="publish-client-id" />
        )}
      </fieldset>
      {(d.kind === 'notification' || d.kind === 'alert') && (
        <>
          <div className="field">
            <label htmlFor={f('message')}>Message</label>
            <input id={f('message')} value={d.message} onChange={(e) => set('message', e.target.value)} required data-testid="publish-message" />
          </div>
          <div className="field">
            <label htmlFor={f('severity')}>Severity</label>
            <select id={f('severity')} value={d.severity} onChange={(e) => set('severity', e.target.value)}>
              {SEVERITIES[d.kind].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </div>
        </>
      )}
      {d.kind === 'alert' && (
        <div className="field">
          <label htmlFor={f('category')}>Category</label>
          <input id={f('category')} value={d.category} onChange={(e) => set('category', e.target.value)} />
        </div>
      )}
      {d.kind === 'dataUpdate' && (
        <>
          <div className="field">
            <label htmlFor={f('etype')}>Entity type</label>
            <input id={f('etype')} value={d.entityType} onChange={(e) => set('entityType', e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor={f('eid')}>Entity id</label>
            <input id={f('eid')} value={d.entityId} onChange={(e) => set('entityId', e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor={f('changes')}>Changes (JSON object)</label>
            <textarea id={f('changes')} rows={2} value={d.changes} onChange={(e) => set('changes', e.target.value)} className="mono" />
          </div>
        </>
      )}
      {d.kind === 'custom' && (
        <>
          <div className="field">
            <label htmlFor={f('etype2')}>Event type</label>
            <input
              id={f('etype2')}
              value={d.eventType}
              onChange={(e) => set('eventType', e.target.value)}
              required
              pattern="[A-Za-z0-9._:\-]{1,64}"
              title="1–64 characters of letters, digits, . _ : -"
              data-testid="publish-event-type"
            />
          </div>
          <div className="field">
            <label htmlFor={f('data')}>Data (JSON, or plain text)</label>
            <textarea id={f('data')} rows={2} value={d.data} onChange={(e) => set('data', e.target.value)} className="mono" required data-testid="publish-data" />
          </div>
        </>
      )}
      {withTopics && <TopicsField value={d.topics} onChange={(v) => set('topics', v)} supported={features.topics} testId="publish-topics" />}
      <div className="actions">
        <button type="submit" className="primary" disabled={action.pending || !allowed} aria-describedby={allowed ? undefined : f('scope')} data-testid="publish-submit">
          {action.pending ? 'Publishing…' : 'Publish'}
        </button>
        <span role="status" className="result" data-testid="publish-result" data-outcome={action.error !== null ? 'error' : action.result !== null ? 'ok' : ''}>
          {action.error !== null && action.at !== null ? (
            backAt !== null ? (
              <span className="text-warn">
                Not published: the hub did not answer at {clock(action.at)}; it answers again since {clock(backAt)}. Publish again.
              </span>
            ) : (
              <span className="text-bad">
                Not published ({clock(action.at)}): {action.error}
              </span>
            )
          ) : action.result !== null && action.at !== null ? (
            <>
              Published as seq {action.result.sequence} at {clock(action.at)}
            </>
          ) : null}
        </span>
      </div>
      {!allowed && <ScopeNote id={f('scope')} access={access} action="Publishing" />}
    </form>
  );
}
