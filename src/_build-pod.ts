/**
 * The gateway's Deployment: the pod, its containers (the WireGuard init
 * container, nginx and the agent), their commands (each runs a checked copy of
 * its scripts: _boot.ts), security contexts and resources, the volumes and
 * their mounts (the data and code ConfigMaps, the private key, each peer's
 * preshared key, the emptyDirs: one per writer, read-only for every reader),
 * the pod's sysctls, the checksum that rolls the pod when something changes
 * that a running pod cannot apply; how the
 * replicas roll, spread, drain and report ready; and the pod-level settings a
 * user chooses (metadata, pull secrets, service account, priority class;
 * scheduling is the Deployment's own API).
 */
import { ApiObject, ApiObjectMetadata, Duration, JsonPatch, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { INIT_BOOT, NGINX_BOOT, agentBoot, bootCommand, readinessCommand } from './_boot';
import { integerIn, secondsIn } from './_checks';
import { METRICS_PORT_NAME, PATHS } from './_contract';
import { invalid } from './_errors';
import { presharedKeyMount } from './_model';
import { CDK8S_ADDRESS_LABEL, CHECKSUM_ANNOTATIONS, checkAnnotations, checkLabels, checkSubdomain, podAddressLabel, refuseOwnLabels } from './_names';
import { ReplicaSpread } from './gateway-options';
import type { WireguardGatewayProps } from './wireguard-gateway-props';

/** The user id nginx-unprivileged runs as. */
const NGINX_UID = 101;

/** The gateway props the pod reads (a subset of WireguardGatewayProps). */
export type PodProps = UserPodProps & Pick<WireguardGatewayProps, 'replicas' | 'replicaSpread' | 'drainTime' | 'nginxResources' | 'initResources' | 'agentResources'>;

export interface PodInputs {
  readonly metadata: ApiObjectMetadata;
  readonly podLabels: { [key: string]: string };
  readonly initImage: string;
  readonly nginxImage: string;
  /** Privileged init container (writes /proc/sys), or NET_ADMIN and a pod sysctl. */
  readonly privilegedInit: boolean;
  readonly listenPort: number;
  readonly configMap: kplus.ConfigMap;
  /** The code ConfigMap (the scripts, immutable), and the scripts in it by name. */
  readonly codeConfigMap: kplus.ConfigMap;
  readonly scripts: Record<string, string>;
  /** The Secret and the key inside it that hold the server's private key. */
  readonly privateKey: { readonly secret: kplus.ISecret; readonly key: string };
  /** The agent applies configuration changes in the running pod (configUpdates LIVE). */
  readonly liveUpdates: boolean;
  /** With metrics: the TCP port nginx serves them on, on the pod's own address. */
  readonly metricsPort?: number;
  /**
   * The checksum of what a running pod cannot apply, read at synth: with live
   * updates start.env, otherwise every data file (the scripts' sums are in the
   * commands).
   */
  readonly restartChecksum: () => string;
}

export class GatewayPod {
  public readonly deployment: kplus.Deployment;
  public readonly replicas: number;
  /** The containers that need the preshared keys: the init container and the agent. */
  private readonly keyedContainers: kplus.Container[];
  /** The preshared-key volumes live under their own scope, so no peer or route id can collide with them. */
  private readonly pskVolumes: Construct;
  private readonly privilegedInit: boolean;
  /**
   * The lowest TCP port nginx listens on, or 1024 (no sysctl needed) without
   * routes. With live updates it is 0 from the start, so that a route added
   * later on a low port needs no new pod.
   */
  private lowestListenPort: number;
  private lastSysctls?: string;

  constructor(scope: Construct, props: PodProps, inputs: PodInputs) {
    const path = scope.node.path;
    this.privilegedInit = inputs.privilegedInit;
    this.lowestListenPort = inputs.liveUpdates ? 0 : 1024;
    this.pskVolumes = new Construct(scope, 'PresharedKeys');
    this.replicas = integerIn(path, 'replicas', props.replicas, 2, 1, 10,
      'use 2 (the default) or 3; every pod holds the same key and configuration');
    const drainSeconds = secondsIn(path, 'drainTime', props.drainTime, 15, 0, 3600,
      'use the time your load balancer needs to stop sending new clients to a pod, e.g. Duration.seconds(15)');

    this.deployment = new kplus.Deployment(scope, 'Deployment', {
      metadata: inputs.metadata,
      replicas: this.replicas,
      // A new pod first, the old one when the new one is ready: never fewer ready pods than
      // asked for. Two pods with one key at once are harmless to WireGuard: a peer talks to
      // whichever pod its packets reach.
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxSurge: kplus.PercentOrAbsolute.absolute(1),
        maxUnavailable: kplus.PercentOrAbsolute.absolute(0),
      }),
      // The drain (preStop) plus a little for the containers to exit.
      terminationGracePeriod: Duration.seconds(drainSeconds + 10),
      automountServiceAccountToken: false,
      select: false,
      podMetadata: { labels: { ...inputs.podLabels } },
      // No fsGroup: it would OR group-read into the key file's 0400 mode, and nothing needs it
      // (the emptyDir is world-writable, ConfigMap files are world-readable).
      securityContext: { ensureNonRoot: true, user: NGINX_UID, group: NGINX_UID },
      ...userPodConstructorProps(props),
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: inputs.podLabels }));
    this.deployment.podMetadata.addAnnotation(
      inputs.liveUpdates ? 'wireguard-gateway.cdk8s.io/restart-checksum' : 'wireguard-gateway.cdk8s.io/config-checksum',
      Lazy.any({ produce: inputs.restartChecksum }) as unknown as string);
    applyUserPodSettings(this.deployment, path, props, inputs.metadata);

    const configVolume = kplus.Volume.fromConfigMap(scope, 'ConfigVolume', inputs.configMap, { name: 'config' });
    const codeVolume = kplus.Volume.fromConfigMap(scope, 'CodeVolume', inputs.codeConfigMap, { name: 'code' });
    const keyVolume = kplus.Volume.fromSecret(scope, 'KeyVolume', inputs.privateKey.secret, {
      name: 'private-key',
      defaultMode: 0o400,
      items: { [inputs.privateKey.key]: { path: PATHS.keyFile } },
    });
    const metrics = inputs.metricsPort !== undefined;
    // nginx's own: its checked scripts, pid, includes, the nginx.conf it serves.
    const tmpVolume = kplus.Volume.fromEmptyDir(scope, 'TmpVolume', 'tmp', { sizeLimit: Size.mebibytes(16) });
    // The agent's own: its checked scripts, the last configuration that applied, its bookkeeping.
    const agentVolume = kplus.Volume.fromEmptyDir(scope, 'AgentVolume', 'agent', { sizeLimit: Size.mebibytes(16) });
    // One volume per direction, writable by its writer only: what the agent writes for nginx
    // (reload requests; with metrics the metrics file), and what nginx writes for the agent
    // (answers; with metrics its sessions log, bounded by start-nginx.sh).
    const agentOutVolume = kplus.Volume.fromEmptyDir(scope, 'AgentOutVolume', 'agent-out', { sizeLimit: Size.mebibytes(metrics ? 16 : 1) });
    const nginxOutVolume = kplus.Volume.fromEmptyDir(scope, 'NginxOutVolume', 'nginx-out', { sizeLimit: Size.mebibytes(metrics ? 16 : 1) });
    const readOnly = (mountPath: string, volume: kplus.Volume) => ({ path: mountPath, volume, readOnly: true });

    const initContainer = this.deployment.addInitContainer({
      name: 'wireguard-init',
      image: inputs.initImage,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: bootCommand(INIT_BOOT, inputs.scripts),
      securityContext: initSecurityContext(this.privilegedInit),
      resources: props.initResources ?? {
        cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(200) },
        memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
      },
      volumeMounts: [
        readOnly(PATHS.configDir, configVolume),
        readOnly(PATHS.codeDir, codeVolume),
        readOnly(PATHS.keyDir, keyVolume),
        // Where it copies init.sh to run it (the agent copies again when it starts).
        { path: PATHS.agentDir, volume: agentVolume },
      ],
    });

    // A pod being removed keeps serving the clients it has while the Service sends new ones
    // elsewhere: both long-running containers wait before they get SIGTERM.
    const lifecycle = drainSeconds > 0 ? { preStop: kplus.Handler.fromCommand(['sleep', `${drainSeconds}`]) } : undefined;

    this.deployment.addContainer({
      name: 'nginx',
      lifecycle,
      image: inputs.nginxImage,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: bootCommand(NGINX_BOOT, inputs.scripts),
      securityContext: {
        ensureNonRoot: true,
        user: NGINX_UID,
        group: NGINX_UID,
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: [capability('ALL')] },
      },
      resources: props.nginxResources ?? {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
        memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
      },
      ports: [
        { number: inputs.listenPort, protocol: kplus.Protocol.UDP, name: 'wireguard' },
        ...(inputs.metricsPort === undefined ? [] : [{ number: inputs.metricsPort, protocol: kplus.Protocol.TCP, name: METRICS_PORT_NAME }]),
      ],
      // Metrics are served on the pod's own address only: start-nginx.sh listens on it.
      envVariables: inputs.metricsPort === undefined ? undefined : { POD_IP: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_IP) },
      volumeMounts: [
        readOnly(PATHS.configDir, configVolume),
        readOnly(PATHS.codeDir, codeVolume),
        { path: PATHS.runDir, volume: tmpVolume },
        readOnly(PATHS.agentOut, agentOutVolume),
        { path: PATHS.nginxOut, volume: nginxOutVolume },
      ],
    });

    // The agent: the init image, root with NET_ADMIN only (it changes wg0, its
    // addresses and routes, and the packet filter); not privileged, nothing else.
    const agent = this.deployment.addContainer({
      name: 'wireguard-agent',
      image: inputs.initImage,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: bootCommand(agentBoot(metrics), inputs.scripts),
      securityContext: netAdminOnly(),
      lifecycle,
      // Ready when wg0 is up with its key and every address, the packet filter is in place,
      // and nginx listens on every route. An exec probe of the agent's checked copy of its
      // script: nothing is listening for it, so no peer can reach it and the NetworkPolicy
      // cannot block it. No liveness probe: see the README (Availability).
      readiness: kplus.Probe.fromCommand(readinessCommand(), {
        periodSeconds: Duration.seconds(5),
        timeoutSeconds: Duration.seconds(3),
        failureThreshold: 2,
        successThreshold: 1,
      }),
      resources: props.agentResources ?? {
        cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(200) },
        memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
      },
      volumeMounts: [
        readOnly(PATHS.configDir, configVolume),
        readOnly(PATHS.codeDir, codeVolume),
        { path: PATHS.agentDir, volume: agentVolume },
        { path: PATHS.agentOut, volume: agentOutVolume },
        readOnly(PATHS.nginxOut, nginxOutVolume),
      ],
    });
    this.keyedContainers = [initContainer, agent];

    // Pod Security "restricted" for nginx; a privileged container ignores it.
    ApiObject.of(this.deployment).addJsonPatch(JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }));
    if (this.replicas > 1) {
      const constraints = spreadConstraints(inputs.podLabels, props.replicaSpread ?? ReplicaSpread.PREFERRED);
      ApiObject.of(this.deployment).addJsonPatch(JsonPatch.add('/spec/template/spec/topologySpreadConstraints',
        constraints.map((c) => kplus.k8s.toJson_TopologySpreadConstraint(c))));
    }
    if (inputs.metricsPort !== undefined) this.lowestListenPort = Math.min(this.lowestListenPort, inputs.metricsPort);
    this.updateSysctls();
  }

  /** A route listens on this TCP port: ports below 1024 need a pod sysctl for non-root nginx. */
  public addListenPort(port: number): void {
    this.lowestListenPort = Math.min(this.lowestListenPort, port);
    this.updateSysctls();
  }

  /**
   * Mounts a peer's preshared key, read-only and 0400, into the init container
   * and the agent (which applies a rotated key), never into nginx.
   */
  public addPresharedKey(publicKey: string, psk: { readonly secret: kplus.ISecret; readonly key: string }): void {
    const mount = presharedKeyMount(publicKey);
    const vol = kplus.Volume.fromSecret(this.pskVolumes, mount.name, psk.secret, {
      name: mount.name,
      defaultMode: 0o400,
      items: { [psk.key]: { path: PATHS.pskFile } },
    });
    for (const c of this.keyedContainers) c.mount(mount.dir, vol, { readOnly: true });
  }

  /**
   * Sets the pod's sysctls from what is known now. A patch, not a Lazy: the
   * typed Deployment serializer runs after patches and cannot take a Lazy
   * there. A later "add" to the same path replaces the earlier value.
   */
  private updateSysctls() {
    const sysctls: Array<{ name: string; value: string }> = [];
    if (this.lowestListenPort < 1024) {
      // nginx runs as non-root; a "safe", namespaced sysctl lets it bind low ports.
      sysctls.push({ name: 'net.ipv4.ip_unprivileged_port_start', value: String(this.lowestListenPort) });
    }
    if (!this.privilegedInit) {
      // Unsafe sysctl: the kubelet must allow it (--allowed-unsafe-sysctls).
      sysctls.push({ name: 'net.ipv4.ip_forward', value: '0' });
    }
    const key = JSON.stringify(sysctls);
    if (key === this.lastSysctls) return;
    this.lastSysctls = key;
    if (sysctls.length > 0) {
      ApiObject.of(this.deployment).addJsonPatch(JsonPatch.add('/spec/template/spec/securityContext/sysctls', sysctls));
    }
  }
}

/**
 * The one place the library relaxes cdk8s-plus's secure defaults: creating a
 * WireGuard interface and the packet filter in the pod's netns needs root with
 * NET_ADMIN (iptables' nf_tables backend talks netlink: nothing more, measured
 * in the end-to-end suite), and writing the forwarding sysctls needs
 * privileged. The container is short-lived and exits.
 */
function initSecurityContext(privileged: boolean): kplus.ContainerSecurityContextProps {
  if (privileged) {
    return { ensureNonRoot: false, user: 0, group: 0, privileged: true, allowPrivilegeEscalation: true, readOnlyRootFilesystem: true };
  }
  return netAdminOnly();
}

/**
 * One pod per node where it can be, and per zone where nodes have zone labels.
 * Zones stay preferred even with REQUIRED: a hard constraint refuses every node
 * that lacks the label. pod-template-hash counts each revision's pods on their
 * own, so a rolling update's surge pod is not held back by the pods it replaces.
 */
function spreadConstraints(podLabels: { [key: string]: string }, spread: ReplicaSpread): kplus.k8s.TopologySpreadConstraint[] {
  const constraint = (topologyKey: string, whenUnsatisfiable: string): kplus.k8s.TopologySpreadConstraint => ({
    maxSkew: 1, topologyKey, whenUnsatisfiable, labelSelector: { matchLabels: podLabels }, matchLabelKeys: ['pod-template-hash'],
  });
  return [
    constraint('kubernetes.io/hostname', spread === ReplicaSpread.REQUIRED ? 'DoNotSchedule' : 'ScheduleAnyway'),
    constraint('topology.kubernetes.io/zone', 'ScheduleAnyway'),
  ];
}

/** Root with NET_ADMIN and nothing else: no privilege, no escalation, read-only root. */
function netAdminOnly(): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: false,
    user: 0,
    group: 0,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: [capability('ALL')], add: [capability('NET_ADMIN')] },
  };
}

/**
 * A capability as Kubernetes spells it. cdk8s-plus-27's enum writes
 * "CAP_NET_ADMIN" and has no "ALL"; the kubelet wants "NET_ADMIN" and "ALL".
 */
function capability(name: 'ALL' | 'NET_ADMIN'): kplus.Capability {
  return name as unknown as kplus.Capability;
}

// --- Pod-level settings a user chooses ---------------------------------------------
// Kept apart from the pod the gateway needs: metadata, pull secrets, service
// account, priority class. Scheduling is cdk8s-plus's own API on the
// Deployment (gateway.scheduling, gateway.deployment.scheduling).

/** The pod props a user chooses (a subset of WireguardGatewayProps). */
export type UserPodProps = Pick<WireguardGatewayProps, 'podMetadata' | 'dockerRegistryAuth' | 'serviceAccount' | 'priorityClassName'>;

/** The settings cdk8s-plus only takes when the Deployment is constructed. */
function userPodConstructorProps(props: UserPodProps): Pick<kplus.DeploymentProps, 'dockerRegistryAuth' | 'serviceAccount'> {
  return { dockerRegistryAuth: props.dockerRegistryAuth, serviceAccount: props.serviceAccount };
}

/**
 * The pod template's labels and annotations (the gateway's own, then the
 * user's, which may not replace any the gateway sets), a stable value for
 * cdk8s-plus's path-derived address label, and the priority class.
 */
function applyUserPodSettings(deployment: kplus.Deployment, path: string, props: UserPodProps, metadata: ApiObjectMetadata): void {
  const user = props.podMetadata ?? {};
  const other = Object.entries(user).find(([k, v]) => k !== 'labels' && k !== 'annotations' && v !== undefined);
  if (other !== undefined) {
    throw invalid(path, `podMetadata.${other[0]}`, other[1], 'only labels and annotations apply to the gateway\'s pod template',
      `drop ${other[0]} from podMetadata`);
  }
  checkLabels(path, 'podMetadata.labels', user.labels);
  checkAnnotations(path, 'podMetadata.annotations', user.annotations);
  const owned: { [key: string]: string } = {
    ...metadata.labels,
    // cdk8s-plus selects the pods by this label (connections.allowTo, allowFrom); its default comes from the construct path.
    [CDK8S_ADDRESS_LABEL]: podAddressLabel(metadata.namespace!, metadata.name!),
  };
  refuseOwnLabels(path, 'podMetadata.labels', user.labels, owned, 'its pods');
  for (const [key, value] of Object.entries(user.labels ?? {})) deployment.podMetadata.addLabel(key, value);
  for (const [key, value] of Object.entries(user.annotations ?? {})) {
    if (CHECKSUM_ANNOTATIONS.includes(key)) {
      throw invalid(path, `podMetadata.annotations[${JSON.stringify(key)}]`, value, 'the gateway sets this annotation to the checksum of its configuration, which rolls the pod when it changes',
        'drop it from podMetadata');
    }
    deployment.podMetadata.addAnnotation(key, value);
  }
  for (const [key, value] of Object.entries(owned)) deployment.podMetadata.addLabel(key, value);
  if (props.priorityClassName !== undefined) {
    checkSubdomain(path, 'priorityClassName', props.priorityClassName, 'use the name of a PriorityClass of the cluster, for example "system-cluster-critical"');
    ApiObject.of(deployment).addJsonPatch(JsonPatch.add('/spec/template/spec/priorityClassName', props.priorityClassName));
  }
}
