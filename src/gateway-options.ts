/** How a change to peers and routes reaches a running gateway. */
export enum ConfigUpdates {
  /**
   * The gateway's agent applies the change in the running pod: peers are
   * synced on the live interface and nginx reloads gracefully, so no tunnel
   * and no session that the change does not touch is dropped. The pod
   * template does not change, so the pod is not replaced.
   */
  LIVE = 'live',
  /**
   * A checksum of the whole configuration is on the pod template, so every
   * change replaces the pod: every tunnel and session drops.
   */
  RESTART = 'restart',
}

/** What a peer's client configuration routes into the tunnel (its `AllowedIPs`). */
export enum ClientAllowedIps {
  /**
   * The whole service network. Routes added later need no new client file;
   * the gateway still enforces per-route access (nginx allow lists, no
   * forwarding), so nothing is reachable that was not before.
   */
  SERVICE_NETWORK = 'service-network',
  /**
   * Only the /32 of each route the peer may use. Every route added later
   * means handing out new client files.
   */
  ROUTE_ADDRESSES = 'route-addresses',
}

/** How strictly the gateway's replicas spread over nodes. */
export enum ReplicaSpread {
  /**
   * Prefer one pod per node and per zone (`ScheduleAnyway`): pods still start
   * when the cluster has fewer nodes than replicas.
   */
  PREFERRED = 'preferred',
  /**
   * Require one pod per node (`DoNotSchedule` on `kubernetes.io/hostname`);
   * zones stay preferred, because a hard zone constraint refuses every node
   * without a zone label. A rolling update then needs one node more than the
   * replicas, for the new pod.
   */
  REQUIRED = 'required',
}

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

/** Who may use a route that does not say (`allowPeers`). */
export enum RouteAccess {
  /**
   * A route without `allowPeers` is open to every peer of the gateway,
   * including peers added later.
   */
  OPEN = 'open',
  /**
   * Every route must name the peers or peer groups that may use it
   * (`allowPeers`); synth refuses one that does not, so a route added later
   * is never open to everyone by accident.
   */
  CLOSED = 'closed',
}
