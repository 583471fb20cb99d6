import { EventList } from '../../components/EventList';
import { PageHeader } from '../../components/PageHeader';
import { StatusPill } from '../../components/StatusPill';
import { useHubStream } from '../../hooks/useHubStream';

export function MultipleStreamsExample() {
  const alerts = useHubStream({ filter: ['alert'] });
  const notes = useHubStream({ filter: ['notification'] });
  const data = useHubStream({ filter: ['dataUpdate'] });
  const columns = [
    { title: 'Alerts', s: alerts },
    { title: 'Notifications', s: notes },
    { title: 'Data updates', s: data },
  ];
  return (
    <>
      <PageHeader title="Multiple streams">
        Three subscribers, each with its own filter. They share one hub connection (it asks for the union of their filters), and each
        keeps only its own types.
      </PageHeader>
      <div className="columns">
        {columns.map(({ title, s }) => (
          <section key={title} className="panel" aria-label={title}>
            <div className="panel-head">
              <h2>{title}</h2>
              <StatusPill status={s.status} testId={`status-${title}`} />
            </div>
            <p className="muted mono small wrap-anywhere">
              {s.clientId} · last seq {s.lastSequence ?? '—'}
            </p>
            <EventList events={s.events} label={title} />
          </section>
        ))}
      </div>
    </>
  );
}
