import { useCallback, useId, useState } from 'react';
import { useAction } from '../hooks/useAction';
import { useHubApi } from '../hooks/useHubApi';
import { usePolling } from '../hooks/usePolling';

/** Start/stop the hub's demo generator (alert → dataUpdate → heartbeat → notification). */
export function DemoControls() {
  const api = useHubApi();
  const id = useId();
  const [interval, setIntervalSecs] = useState(2);
  const status = usePolling(api.demoStatus, 3000);
  const { refresh } = status;
  const start = useAction(useCallback(async (secs: number) => { await api.demoStart(secs); refresh(); }, [api, refresh]));
  const stop = useAction(useCallback(async () => { await api.demoStop(); refresh(); }, [api, refresh]));
  const running = status.data?.isRunning ?? false;
  const error = start.error ?? stop.error ?? status.error;
  return (
    <section className="panel demo" aria-labelledby={`${id}-h`} data-testid="demo-controls">
      <h2 id={`${id}-h`}>Demo generator</h2>
      <p className="muted">
        Status:{' '}
        <strong data-testid="demo-status" role="status">
          {status.data === null ? 'unknown' : running ? `running every ${status.data.intervalSeconds ?? '?'} s` : 'stopped'}
        </strong>
      </p>
      <div className="field inline">
        <label htmlFor={`${id}-i`}>Interval (seconds)</label>
        <input id={`${id}-i`} type="number" min={1} max={60} value={interval} onChange={(e) => setIntervalSecs(Math.min(60, Math.max(1, Number(e.target.value) || 1)))} />
      </div>
      <div className="actions">
        <button type="button" className="primary" disabled={running || start.pending} onClick={() => void start.run(interval)} data-testid="demo-start">
          Start
        </button>
        <button type="button" disabled={!running || stop.pending} onClick={() => void stop.run()} data-testid="demo-stop">
          Stop
        </button>
      </div>
      {error !== null && <p className="text-bad" role="alert">{error}</p>}
    </section>
  );
}
