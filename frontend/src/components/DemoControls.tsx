import { useCallback, useId, useState } from 'react';
import { useAction } from '../hooks/useAction';
import { useAnsweredSince } from '../hooks/useAnsweredSince';
import { useHubAccess } from '../hooks/useHubAccess';
import { useHubApi } from '../hooks/useHubApi';
import { usePolling } from '../hooks/usePolling';
import { isUnreachable, type DemoStatus } from '../lib/api';
import { canPublish } from '../lib/hubAccess';
import { clock } from '../lib/time';
import { Freshness } from './Freshness';
import { ScopeNote } from './ScopeNote';

const POLL_MS = 3000;
const DEFAULT_INTERVAL = 2;

const describe = (s: DemoStatus) => (s.isRunning ? `running every ${s.intervalSeconds ?? '?'} s` : 'stopped');

/**
 * Start/stop the hub's demo generator (alert → dataUpdate → heartbeat → notification).
 * The status line is the hub's latest answer; while the hub does not answer it says
 * "unknown" with the last known state and its time, never a stale "running".
 */
export function DemoControls() {
  const api = useHubApi();
  const access = useHubAccess();
  const id = useId();
  const [draft, setDraft] = useState(DEFAULT_INTERVAL);
  const status = usePolling(api.demoStatus, POLL_MS);
  const { refresh } = status;
  const start = useAction(
    useCallback(
      async (secs: number) => {
        try {
          return await api.demoStart(secs);
        } finally {
          refresh();
        }
      },
      [api, refresh],
    ),
  );
  const stop = useAction(
    useCallback(async () => {
      try {
        return await api.demoStop();
      } finally {
        refresh();
      }
    }, [api, refresh]),
  );

  const known = status.data !== null && status.failingSince === null ? status.data : null;
  const running = known?.isRunning === true;
  const allowed = canPublish(access);
  // The field shows the running interval (it cannot change while running), else the draft.
  const interval = known !== null && known.isRunning ? (known.intervalSeconds ?? draft) : draft;

  const last = start.at !== null && (stop.at === null || start.at >= stop.at) ? start : stop;
  const backAt = useAnsweredSince(isUnreachable(last.failure) ? last.at : null);
  const actionError = last.error !== null && last.at !== null && backAt === null ? `${last === start ? 'Start' : 'Stop'} failed at ${clock(last.at)}: ${last.error}` : null;

  return (
    <section className="panel demo" aria-labelledby={`${id}-h`} data-testid="demo-controls">
      <h2 id={`${id}-h`}>Demo generator</h2>
      <p className="muted">
        Status:{' '}
        <strong data-testid="demo-status" role="status" data-state={known === null ? 'unknown' : running ? 'running' : 'stopped'}>
          {known !== null
            ? describe(known)
            : status.data !== null && status.updatedAt !== null
              ? `unknown (last known at ${clock(status.updatedAt)}: ${describe(status.data)})`
              : status.failingSince !== null
                ? 'unknown'
                : 'checking…'}
        </strong>
      </p>
      <Freshness polled={status} testId="demo-freshness" />
      <div className="field inline">
        <label htmlFor={`${id}-i`}>Interval (seconds)</label>
        <input
          id={`${id}-i`}
          type="number"
          min={1}
          max={60}
          value={interval}
          disabled={running}
          aria-describedby={running ? `${id}-ih` : undefined}
          onChange={(e) => setDraft(Math.min(60, Math.max(1, Number(e.target.value) || 1)))}
          data-testid="demo-interval"
        />
        {running && (
          <span id={`${id}-ih`} className="small muted">
            the running interval; stop to change it
          </span>
        )}
      </div>
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={known === null || running || start.pending || !allowed}
          onClick={() => void start.run(interval)}
          aria-describedby={allowed ? undefined : `${id}-scope`}
          data-testid="demo-start"
        >
          Start
        </button>
        <button
          type="button"
          disabled={known === null || !running || stop.pending || !allowed}
          onClick={() => void stop.run()}
          aria-describedby={allowed ? undefined : `${id}-scope`}
          data-testid="demo-stop"
        >
          Stop
        </button>
      </div>
      {!allowed && <ScopeNote id={`${id}-scope`} access={access} action="Starting or stopping the demo" />}
      {actionError !== null && (
        <p className="text-bad" role="alert" data-testid="demo-error">
          {actionError}
        </p>
      )}
    </section>
  );
}
