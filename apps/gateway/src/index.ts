export { createGatewayService, type GatewayService, type GatewayServiceDeps } from './gateway.service';
export { EventGateway, type EventHistory } from './event-gateway';
export { SubscriptionIndex } from './subscription-index';
export { GatewayEnv, parseGatewayEnv } from './env';
export { gatewayConfig } from './gateway.config';
