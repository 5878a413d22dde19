import { IPodSelection } from './policy-peer';

// Where the gateway's pods run. `gateway.scheduling` is cdk8s-plus's own scheduling API
// of the gateway's Deployment (cdk8s-plus-27), typed so that the node and pod selections
// of any cdk8s-plus major from 27 to 33 are accepted: cdk8s-plus classes of two majors
// never type-check against each other, and the queries inside a `Node.labeled(...)` or
// `Node.tainted(...)` keep their data private to their major (typed `any` here).

/** Nodes selected by labels: `kplus.Node.labeled(...)` of any cdk8s-plus major. */
export interface ILabeledNode {
  /** The label queries: cdk8s-plus `NodeLabelQuery` objects of any major. */
  readonly labelSelector: any[];
}

/** Nodes selected by taints: `kplus.Node.tainted(...)` of any cdk8s-plus major. */
export interface ITaintedNode {
  /** The taint queries: cdk8s-plus `NodeTaintQuery` objects of any major. */
  readonly taintSelector: any[];
}

/** A topology domain: `kplus.Topology.HOSTNAME`, `ZONE`, `custom(...)` of any cdk8s-plus major. */
export interface ITopology {
  /** The node label that defines the domain, e.g. "topology.kubernetes.io/zone". */
  readonly key: string;
}

/** Options for `IGatewayScheduling.attract`. */
export interface GatewaySchedulingAttractOptions {
  /**
   * A preference (1 to 100) instead of a requirement.
   *
   * @default - a requirement
   */
  readonly weight?: number;
}

/** Options for `IGatewayScheduling.colocate`. */
export interface GatewaySchedulingColocateOptions {
  /**
   * Where the pods must be together.
   *
   * @default - the same node (kplus.Topology.HOSTNAME)
   */
  readonly topology?: ITopology;

  /**
   * A preference (1 to 100) instead of a requirement.
   *
   * @default - a requirement
   */
  readonly weight?: number;
}

/** Options for `IGatewayScheduling.separate`. */
export interface GatewaySchedulingSeparateOptions {
  /**
   * Where the pods must be apart.
   *
   * @default - the same node (kplus.Topology.HOSTNAME)
   */
  readonly topology?: ITopology;

  /**
   * A preference (1 to 100) instead of a requirement.
   *
   * @default - a requirement
   */
  readonly weight?: number;
}

/**
 * Where the gateway's pods may run: cdk8s-plus's scheduling API of the
 * gateway's Deployment, for node and pod selections of any cdk8s-plus major.
 * The rest of cdk8s-plus-27's API is `gateway.deployment.scheduling`.
 */
export interface IGatewayScheduling {
  /** Run on the nodes that `node` selects: `attract(kplus.Node.labeled(kplus.NodeLabelQuery.is('pool', 'edge')))`. */
  attract(node: ILabeledNode, options?: GatewaySchedulingAttractOptions): void;

  /** Tolerate the taints that `node` selects: `tolerate(kplus.Node.tainted(kplus.NodeTaintQuery.is('dedicated', 'vpn')))`. */
  tolerate(node: ITaintedNode): void;

  /** Run where the selected pods run (pod affinity). */
  colocate(selector: IPodSelection, options?: GatewaySchedulingColocateOptions): void;

  /** Run where the selected pods do not run (pod anti-affinity). */
  separate(selector: IPodSelection, options?: GatewaySchedulingSeparateOptions): void;
}
