import { EventList } from '../../components/EventList';
import { PageHeader } from '../../components/PageHeader';
import { StatusPill } from '../../components/StatusPill';
import { useSse } from '@ssehub/client/react';

export function MultipleStreamsExample() {
  const alerts = useSse({ filter: ['alert'] });
  const notes = useSse({ filter: ['notification'] });
  const data = useSse({ filter: ['dataUpdate'] });
  const columns = [
    { title: 'Alerts', s: alerts },
    { title: 'Notifications', s: notes },
    { title: 'Data updates', s: data },
  ];
  return (
    <>
      <PageHeader title="Multiple streams">
        Three independent connections, each with its own client id, filter and stored position.
      </PageHeader>
      <div className="columns">
        {columns.map(({ title, s }) => (
          <section key={title} className="panel" aria-label={title}>
            <div className="panel-head">
              <h2>{title}</h2>
              <StatusPill status={s.status} testId={`status-${title}`} />
            </div>
            <p className="muted mono small">
              {s.clientId} · last #{s.lastSequence ?? '—'}
            </p>
            <EventList events={s.events} label={title} />
          </section>
        ))}
      </div>
    </>
  );
}
