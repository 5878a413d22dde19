export * from './wireguard-gateway';
export * from './gateway-options';
export * from './gateway-metrics';
export * from './wireguard-key';
export * from './wireguard-peer';
export * from './gateway-route';
export * from './proxied-service';
export * from './managed-db-route';
