/**
 * The services `npm run cluster` runs, each as replicas of its real `apps/<app>/src/main.ts`. `name` is
 * the name of its upstream block in the compose edge (docker/edge.nginx.conf), which the cluster's edge
 * keeps; `portOffset` follows the services' own default ports (8081…8086).
 */
export interface ClusterService {
  name: string;
  app: string;
  portOffset: number;
  /** Whether the edge routes to it (the guardian has no API: only its own /readyz and /metrics). */
  routed: boolean;
}

export const CLUSTER_SERVICES: readonly ClusterService[] = [
  { name: 'ingest', app: 'ingest', portOffset: 1, routed: true },
  { name: 'gateway', app: 'gateway', portOffset: 2, routed: true },
  { name: 'message-queue', app: 'message-queue', portOffset: 3, routed: true },
  { name: 'guardian', app: 'guardian', portOffset: 4, routed: false },
  { name: 'supervisor', app: 'supervisor', portOffset: 5, routed: true },
  { name: 'branch-workflow', app: 'branch-workflow', portOffset: 6, routed: true },
];
