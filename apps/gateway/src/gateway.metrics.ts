import { counter, histogram, sampledGauge } from '@sandbox-relay/service-kit';

/**
 * Frame counts are kept as plain numbers on the hot path (a fan-out sends hundreds of thousands of
 * frames a second) and handed to the Prometheus counters when scraped.
 */
export const frameCounts = { sent: 0, dropped: 0 };

/** A counter that, when scraped, adds what `frameCounts[key]` grew by since the last scrape. */
function frameCounter(key: keyof typeof frameCounts, name: string, help: string): void {
  let reported = 0;
  counter({
    name,
    help,
    collect() {
      this.inc(frameCounts[key] - reported);
      reported = frameCounts[key];
    },
  });
}

frameCounter(
  'sent',
  'relay_ws_frames_sent_total',
  'WebSocket frames written to clients (events, replayed events and ping frames).',
);
frameCounter(
  'dropped',
  'relay_ws_frames_dropped_total',
  'Frames for a client that could no longer take them: closed or being closed (slow consumer), or held during its replay when it was closed.',
);

/** Clients closed with 4008 because they read too slowly, by why (a fixed set). */
export const slowConsumerCloses = counter<'reason'>({
  name: 'relay_ws_slow_consumer_closes_total',
  help: 'WebSocket clients closed with 4008 (slow consumer), by reason: send_buffer, replay_buffer, replay_unread.',
  labelNames: ['reason'],
});

export const socketsOpen = sampledGauge({
  name: 'relay_ws_clients_open',
  help: 'WebSocket clients connected and open for frames.',
});

/**
 * Upgrades refused before a client was admitted, by reason (bad_query, too_many_clients, shutting_down):
 * with an HTTP answer, or on the original path (which refuses in a frame) with an error frame and 1013.
 */
export const upgradesRefused = counter<'reason'>({
  name: 'relay_ws_upgrades_refused_total',
  help: 'WebSocket upgrades refused before admission (an HTTP answer; on the original path an error frame and close 1013), by reason: bad_query, too_many_clients, shutting_down.',
  labelNames: ['reason'],
});

/**
 * POST→frame latency as the gateway sees it: from an event's commit timestamp (PostgreSQL's
 * `created_at`, taken while ingest stores the POST) to the gateway handing its live frame to the
 * clients that match, observed once per event that at least one client receives (replays excluded).
 * Adds the ingest's commit, the Redis publish and the subscription; the POST's own answer time is
 * `relay_http_request_duration_seconds`. Clocks of the database and the gateway's host are assumed in sync.
 */
export const eventDeliveryLag = histogram({
  name: 'relay_ws_event_delivery_seconds',
  help: "Seconds from a live event's commit (its stored timestamp) to the gateway writing its frame to the matching clients (events at least one client receives).",
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});
