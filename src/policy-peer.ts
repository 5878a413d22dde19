import { IConstruct } from 'constructs';

// What the library takes as a network-policy peer, and what it gives as one, in the
// words of cdk8s-plus (`toNetworkPolicyPeerConfig`, `toPodSelector`, `toPodSelectorConfig`)
// but with structural types: an object of any cdk8s-plus major from 27 to 33 satisfies
// them, and the gateway satisfies every major's `INetworkPolicyPeer`. cdk8s-plus classes
// have private members, so the classes of two majors never type-check against each other;
// its label selectors and IP blocks are such classes, whose data is private to their
// major: those members are typed `any`.

/** Which namespaces a pod selection covers, as cdk8s-plus's `NamespaceSelectorConfig` of any major. */
export interface NamespaceSelectionConfig {
  /**
   * Namespaces by label: a cdk8s-plus `LabelSelector` of any major (its data is private to that major).
   *
   * @default - no label condition
   */
  readonly labelSelector?: any;

  /**
   * Namespaces by name.
   *
   * @default - no name condition
   */
  readonly names?: string[];
}

/** A selection of pods, as cdk8s-plus's `PodSelectorConfig` of any major. */
export interface PodSelectionConfig {
  /** The pods' labels: a cdk8s-plus `LabelSelector` of any major (its data is private to that major). */
  readonly labelSelector: any;

  /**
   * The namespaces of the pods.
   *
   * @default - the namespace of the policy or workload that uses the selection
   */
  readonly namespaces?: NamespaceSelectionConfig;
}

/** A network-policy peer's configuration, as cdk8s-plus's `NetworkPolicyPeerConfig` of any major. */
export interface PolicyPeerConfig {
  /**
   * An IP block: a cdk8s-plus `NetworkPolicyIpBlock` of any major.
   *
   * @default - the peer is a pod selection
   */
  readonly ipBlock?: any;

  /**
   * A pod selection.
   *
   * @default - the peer is an IP block
   */
  readonly podSelector?: PodSelectionConfig;
}

/**
 * Something that selects pods: cdk8s-plus's `IPodSelector` of any major
 * (`kplus.Pods.select(...)`, a workload, the gateway).
 */
export interface IPodSelection extends IConstruct {
  /** The selection (cdk8s-plus: `IPodSelector.toPodSelectorConfig()`). */
  toPodSelectorConfig(): PodSelectionConfig;
}

/**
 * A network-policy peer: cdk8s-plus's `INetworkPolicyPeer` of any major from 27 to 33
 * (`kplus.Pods.select(...)`, `kplus.Namespaces.select(...)`, a workload,
 * `kplus.NetworkPolicyIpBlock.ipv4(...)`). The gateway is one too, so that
 * `db.connections.allowFrom(gateway)` works in an app on any major.
 */
export interface IPolicyPeer extends IConstruct {
  /** The peer's configuration (cdk8s-plus: `INetworkPolicyPeer.toNetworkPolicyPeerConfig()`). */
  toNetworkPolicyPeerConfig(): PolicyPeerConfig;

  /** The peer as a pod selection, if it is one (cdk8s-plus: `INetworkPolicyPeer.toPodSelector()`). */
  toPodSelector(): IPodSelection | undefined;
}
