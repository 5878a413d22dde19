/** How the WireGuard Service is exposed. */
export enum GatewayServiceType {
  /** A cloud load balancer on UDP (the default). */
  LOAD_BALANCER = 'LoadBalancer',
  /** A port on every node. */
  NODE_PORT = 'NodePort',
}

/** Where external traffic for the WireGuard Service goes. */
export enum ExternalTrafficPolicy {
  /** Any node may take traffic and forward it (source address is lost). */
  CLUSTER = 'Cluster',
  /** Only the node that runs the gateway takes traffic (source address kept). */
  LOCAL = 'Local',
}
