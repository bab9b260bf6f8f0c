import { counter, gauge } from '@sandbox-relay/service-kit';

/** Heartbeat-ladder steps this replica carried out (each step is taken by one replica: compare-and-set in Redis). */
export const heartbeatEscalations = counter<'step'>({
  name: 'relay_supervisor_heartbeat_escalations_total',
  help: 'Heartbeat ladder steps taken by this replica: warn (a heartbeat missed), degrade, recover.',
  labelNames: ['step'],
});

export const heartbeatsMissed = counter({
  name: 'relay_supervisor_heartbeats_missed_total',
  help: 'Sandboxes found to have missed their heartbeat (the first step of the ladder), by this replica.',
});

export const restarts = counter<'outcome'>({
  name: 'relay_supervisor_restarts_total',
  help: 'Sandbox restarts carried out by this replica, by outcome: restarted, spawn_failed, quarantined.',
  labelNames: ['outcome'],
});

export const quarantines = counter({
  name: 'relay_supervisor_quarantines_total',
  help: 'Tasks quarantined because their sandboxes kept dying (restart intensity exceeded).',
});

export const idleStops = counter({
  name: 'relay_supervisor_idle_stops_total',
  help: 'Sandboxes stopped by this replica for being idle.',
});

export const sessionsSwept = gauge({
  name: 'relay_supervisor_live_sessions',
  help: 'Live sandbox sessions (running, degraded, restarting) seen by the last sweep.',
});
