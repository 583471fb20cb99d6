import { useState } from 'react';
import { EventList } from '../../components/EventList';
import { Notices } from '../../components/Notices';
import { PageHeader } from '../../components/PageHeader';
import { RecoveryReport } from '../../components/RecoveryReport';
import { StreamFacts } from '../../components/StreamFacts';
import { useBurstPublisher } from '../../hooks/useBurstPublisher';
import { useHubStream } from '../../hooks/useHubStream';

const AWAY_COUNT = 5;

export function CheckpointExample() {
  const [online, setOnline] = useState(true);
  const stream = useHubStream({ enabled: online });
  const { action: publish, published: away, forget } = useBurstPublisher(AWAY_COUNT, 'published while away');
  const disconnect = () => {
    forget();
    setOnline(false);
  };
  return (
    <>
      <PageHeader title="Checkpoint recovery">
        Disconnect, publish while away, reconnect: the client resumes with checkpoint=lastSequence and the hub replays exactly what was
        missed. Reloading the page works the same way (the position is stored per client id).
      </PageHeader>
      <section className="panel" aria-label="Checkpoint recovery">
        <ol className="steps">
          <li>
            <button type="button" onClick={disconnect} disabled={!online} data-testid="cp-disconnect">
              1. Disconnect
            </button>
          </li>
          <li>
            <button type="button" onClick={() => void publish.run()} disabled={online || publish.pending} data-testid="cp-publish">
              2. Publish {AWAY_COUNT} events while away
            </button>
          </li>
          <li>
            <button type="button" className="primary" onClick={() => setOnline(true)} disabled={online} data-testid="cp-reconnect">
              3. Reconnect
            </button>
          </li>
        </ol>
        {publish.error !== null && <p className="text-bad" role="alert">{publish.error}</p>}
        <RecoveryReport away={away} connection={stream.connection} online={online} />
        <StreamFacts stream={stream} />
        <Notices stream={stream} />
        <EventList events={stream.events} label="Events" />
      </section>
    </>
  );
}
