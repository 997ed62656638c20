// cricket's performance targets against the runtime it is compared with, and whether one run of
// the side-by-side benchmark meets each. Pure: the figures in, the verdicts out.

/** Figures by `scenario | figure`, then by runtime name. */
export type Figures = Record<string, Record<string, number>>;

export interface TargetSpec {
  /** What the target is about, as printed. */
  label: string;
  /** The `scenario | figure` key it reads. */
  figure: string;
  /** The ratio (cricket / other) must not be above this; or cricket's own value, when `own`. */
  limit: number;
  /** cricket's own figure, not a ratio (its RSS after a cycle against its RSS at start). */
  own?: boolean;
  /** Figures of cricket's that must be zero for the target to hold (errors of that scenario). */
  zero?: string[];
}

export interface Verdict extends TargetSpec {
  /** The ratio, or cricket's own figure; undefined when the run has no such figure. */
  value: number | undefined;
  holds: boolean;
}

export interface TargetScenarios {
  pods: number;
  relistPods: number;
  /** The relist section whose figures the List/Status targets read. */
  relistSection: string;
  /** The lifecycle section whose latencies the lifecycle's targets read (its CPU is always LIFECYCLE_CPU's). */
  lifecycleSection: string;
}

/** The section of the lifecycle whose CPU is counted: the grpc-js client's, which runs alone. */
const LIFECYCLE_CPU = 'lifecycle';

/** The relist calls with targets: kubelet's relist, its status calls, and the stats and image lists it asks for. */
const RELIST_CALLS: [label: string, figure: string][] = [
  ['ListPodSandbox + ListContainers', 'ListPodSandbox+ListContainers'],
  ['PodSandboxStatus', 'PodSandboxStatus'],
  ['ContainerStatus', 'ContainerStatus'],
  ['ListContainerStats', 'ListContainerStats'],
  ['ListImages', 'ListImages'],
];

export function performanceTargets({ pods, relistPods, relistSection, lifecycleSection }: TargetScenarios): TargetSpec[] {
  return [
    { label: 'pod with one container from scratch, p50', figure: `${lifecycleSection} | pod+container from scratch p50 ms`, limit: 0.5 },
    { label: 'CreateContainer + StartContainer, p50', figure: `${lifecycleSection} | Create+StartContainer p50 ms`, limit: 0.5 },
    { label: `${pods} pods at once, start`, figure: `burst | ${pods} pods start s`, limit: 0.5, zero: ['burst | start errors'] },
    { label: `${pods} pods at once, teardown`, figure: `burst | ${pods} pods teardown s`, limit: 0.5, zero: ['burst | teardown errors'] },
    { label: 'CPU per pod lifecycle (daemon and helpers)', figure: `${LIFECYCLE_CPU} | CPU s per lifecycle (total)`, limit: 0.5 },
    ...RELIST_CALLS.flatMap(([label, figure]): TargetSpec[] => [
      { label: `${label} at ${relistPods} pods, p50`, figure: `${relistSection} | ${figure} p50 ms`, limit: 0.7 },
      { label: `${label} at ${relistPods} pods, p99`, figure: `${relistSection} | ${figure} p99 ms`, limit: 1.0 },
    ]),
    { label: 'RemoveContainer, p50', figure: `${lifecycleSection} | RemoveContainer p50 ms`, limit: 1.0 },
    { label: `daemon + helpers RSS at ${relistPods} pods`, figure: `memory | daemon+helpers RSS at ${relistPods} pods MiB`, limit: 0.3 },
    { label: `daemon RSS after the ${relistPods}-pod cycle / at start`, figure: 'memory | after/idle RSS', limit: 1.2, own: true },
  ];
}

/** Each target against the figures of one run: `self` is cricket, `other` the runtime it is measured against. */
export function judgeTargets(results: Figures, self: string, other: string, specs: readonly TargetSpec[]): Verdict[] {
  return specs.map((spec) => {
    const mine = results[spec.figure]?.[self];
    const theirs = results[spec.figure]?.[other];
    let value: number | undefined;
    if (spec.own) value = mine;
    else if (mine !== undefined && theirs !== undefined && theirs > 0) value = mine / theirs;
    if (value !== undefined && !Number.isFinite(value)) value = undefined;
    const clean = (spec.zero ?? []).every((key) => results[key]?.[self] === 0);
    return { ...spec, value, holds: value !== undefined && value <= spec.limit && clean };
  });
}
