export { createGatewayService, type GatewayService, type GatewayServiceDeps } from './gateway.service';
export { createGatewayModule, type GatewayModule, type GatewayModuleDeps } from './gateway.module';
export { EventGateway, type EventHistory } from './event-gateway';
export { SubscriptionIndex } from './subscription-index';
export { GatewayEnv, parseGatewayEnv } from './env';
export { canaryConfig, gatewayConfig } from './gateway.config';
