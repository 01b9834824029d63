// The admin API's shapes, as the server serialises them (host/core/src/model.rs, run.rs,
// plugin.rs; host/flow/src/triggers.rs; host/server/src/api.rs).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';
export type StepStatus = 'running' | 'succeeded' | 'failed' | 'waiting';
export type TriggerKind = 'manual' | 'webhook' | 'polling' | 'schedule';

export const RUN_STATUSES: RunStatus[] = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'];

export function isFinal(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

export interface Run {
  id: string;
  flow: string;
  version?: number;
  status: RunStatus;
  trigger?: Json;
  output?: Json;
  error?: string;
  created_ms: number;
  updated_ms: number;
  wake_ms?: number;
  rerun_of?: string;
  /** How the flow names each plugin (`http`, `http@1.2.0`) → the content hash the run uses. */
  plugins?: Record<string, string>;
  /** Only on a test run (started from the editor): what it tested. */
  test?: { def: FlowDef; pinned?: Record<string, Json>; until?: string };
  /** Only on a sub-flow's run: the run and `call` step waiting for it. */
  parent?: { run: string; step: string; depth: number };
  /** Only on an error flow's run: the failed run it reports. */
  failure_of?: string;
  /** Only on a failed run whose failure started an error flow: that run. */
  error_run?: string;
}

/**
 * What kind of failure a step error is: a plugin's error kind (`invalid-input`, `auth`,
 * `rate-limited`, `transient`, `fatal`), the sandbox stopping the call (`limit`, `trap`,
 * `bad-output`, `capacity`, `wrong-world`) or the engine's own (`input-mapping`).
 */
export type ErrorKind =
  | 'invalid-input'
  | 'auth'
  | 'rate-limited'
  | 'transient'
  | 'fatal'
  | 'limit'
  | 'trap'
  | 'bad-output'
  | 'capacity'
  | 'wrong-world'
  | 'input-mapping'
  | 'sub-flow';

export const ERROR_KINDS: ErrorKind[] = ['invalid-input', 'auth', 'rate-limited', 'transient', 'fatal', 'limit', 'trap', 'bad-output', 'capacity', 'wrong-world', 'input-mapping', 'sub-flow'];

export interface StepFailure {
  message: string;
  retryable: boolean;
  retry_after_ms?: number;
  /** One of `ErrorKind`, or absent for failures with no kind of their own (a newer server may send others). */
  kind?: string;
}

/** An attempt of a step that failed and was tried again. */
export interface FailedAttempt {
  /** 1 for the first attempt. */
  attempt: number;
  started_ms: number;
  ended_ms: number;
  error: StepFailure;
  /** How long the engine waited before the next attempt (the back-off). */
  wait_ms: number;
}

export interface LogLine {
  level: string;
  message: string;
  at_ms?: number;
  [key: string]: unknown;
}

export interface Step {
  path: string;
  step_id: string;
  status: StepStatus;
  input?: Json;
  output?: Json;
  /** The last attempt's error. */
  error?: StepFailure;
  /** How many attempts were made (the last one included). */
  attempts: number;
  /**
   * The earlier attempts that failed and were retried, oldest first; `error`/`attempts`
   * describe the last attempt. While the step waits to retry (`waiting` with `wake_ms`), the
   * last entry is the attempt that just failed.
   */
  retried?: FailedAttempt[];
  /** When the first attempt started. */
  started_ms: number;
  ended_ms?: number;
  wake_ms?: number;
  logs?: LogLine[];
  dropped_logs?: number;
  seq: number;
  /** A test run gave this step's output: it was not called. */
  pinned?: boolean;
  /** The node that executed the step, when several nodes share one store. */
  node?: string;
  /** A `call` step: the sub-flow's run it started. */
  child?: string;
  /** Waiting (until `wake_ms`) for its turn under its connection's rate limit. */
  throttled?: boolean;
}

export interface RunWithSteps {
  run: Run;
  steps: Step[];
}

// ---- replays -----------------------------------------------------------------------------------

/** What replaying a run offline found (host/core/src/replay.rs). */
export type ReplayVerdict = 'same' | 'differs' | 'now_succeeds' | 'still_fails' | 'now_fails' | 'not_replayable';

/** A step's output or failure, as recorded or as replayed. */
export interface StepResult {
  output?: Json;
  error?: StepFailure;
}

export interface StepReplay {
  path: string;
  step_id: string;
  /** The plugin called, `name@version`. */
  plugin?: string;
  /** Why the step was not replayed (no recording, the plugin is gone…). */
  skipped?: string;
  recorded: StepResult;
  replayed?: StepResult;
  /** Whether the replay gave what the run recorded. */
  same: boolean;
  /** Where the outputs differ, by JSON path, one line each. */
  differences?: string[];
  /** Requests the replayed plugin made that the recording could not answer. */
  unanswered?: string[];
}

export interface RunReplay {
  run: string;
  flow: string;
  /** How the recorded run ended. */
  recorded_status: RunStatus;
  /** One of `ReplayVerdict` (a newer server may send others). */
  verdict: ReplayVerdict | string;
  /** One line for people. */
  summary: string;
  steps: StepReplay[];
}

// ---- flows -------------------------------------------------------------------------------------

export interface ConnectorTriggerDef {
  connector: string;
  trigger: string;
  connection: string;
  config?: Json;
  events?: string[];
  interval?: string;
  sync?: boolean;
  fallback_poll?: string;
}

export interface ScheduleDef {
  cron: string;
  timezone?: string;
}

/** `"manual"`, or an externally tagged object (`{"webhook": {...}}`). */
export type TriggerDef =
  | 'manual'
  | { webhook: ConnectorTriggerDef }
  | { polling: ConnectorTriggerDef }
  | { schedule: ScheduleDef };

export type OnErrorDef = 'fail' | 'continue' | { branch: StepDef[] };

export interface RetryDef {
  max_attempts?: number;
  initial_backoff?: string;
  max_backoff?: string;
}

export interface StepDef {
  id: string;
  action?: string;
  connection?: string;
  transform?: string;
  call?: string;
  input?: Json;
  respond?: { status?: Json; headers?: Record<string, string>; body?: Json };
  if?: string;
  then?: StepDef[];
  else?: StepDef[];
  switch?: string;
  cases?: Record<string, StepDef[]>;
  default?: StepDef[];
  for_each?: string;
  steps?: StepDef[];
  concurrency?: number;
  delay?: string;
  delay_until?: string;
  retry?: RetryDef;
  on_error?: OnErrorDef;
}

export interface FlowDef {
  name: string;
  description?: string;
  trigger: TriggerDef;
  concurrency?: number;
  retention?: { succeeded?: string; failed?: string; max_runs?: number };
  on_failure?: string;
  rate_limit?: RateLimit;
  /** Whether action step records keep their host I/O for replays (absent: yes). */
  record_io?: boolean;
  steps: StepDef[];
}

export interface StoredFlow {
  name: string;
  version: number;
  def: FlowDef;
  updated_ms: number;
}

export interface FlowSummary {
  name: string;
  version: number;
  trigger: TriggerKind;
  steps: number;
  active: boolean;
  updated_ms: number;
  plugins_missing?: string[];
}

export interface PollSummary {
  cursor?: string;
  mark?: string;
  seen?: number;
  last_ms?: number;
  error?: string;
  /** The brief's name for `error`; accepted too. */
  last_error?: string;
  more?: boolean;
}

export interface TriggerStatus {
  flow?: string;
  kind: TriggerKind;
  active: boolean;
  webhook_url?: string;
  manual_subscription?: boolean;
  polling_fallback?: boolean;
  subscription?: Json;
  next_ms?: number;
  poll_state?: PollSummary;
  /** The brief's name for `poll_state`; accepted too. */
  poll?: PollSummary;
  error?: string;
  plugins_missing?: string[];
  warning?: string;
}

export interface FlowDetail {
  flow: StoredFlow;
  trigger: TriggerStatus;
  yaml?: string;
}

export interface FlowVersion {
  version: number;
  updated_ms: number;
}

export interface FlowVersionDetail {
  flow: StoredFlow;
  yaml?: string;
}

// ---- stats -------------------------------------------------------------------------------------

export interface FlowStats {
  runs_24h: number;
  failed_24h: number;
  /** The counts stopped at the server's cap. */
  capped?: boolean;
  last_run: { id: string; status: RunStatus; created_ms?: number; ended_ms?: number } | null;
}

export interface Minute {
  t: number;
  succeeded: number;
  failed: number;
}

export interface Stats {
  flows: Record<string, FlowStats>;
  minutes: Minute[];
  backlog: number;
  executing: number;
}

export interface Health {
  status: string;
  plugins: number;
  backlog: number;
  executing: number;
}

// ---- plugins -----------------------------------------------------------------------------------

export interface PluginVersion {
  version: string;
  hash: string;
  current: boolean;
  installed: boolean;
  flows: string[];
}

export interface ActionSpec {
  name: string;
  description?: string;
  input_schema?: Json;
  output_schema?: Json;
}

export interface TriggerSpec {
  name: string;
  description?: string;
  kind?: string;
  polling?: string | null;
  events?: string[];
  config_schema?: Json;
  output_schema?: Json;
}

export interface SettingSpec {
  name: string;
  description?: string;
  secret?: boolean;
  required?: boolean;
}

export interface Manifest {
  name?: string;
  version?: string;
  description?: string;
  actions?: ActionSpec[];
  triggers?: TriggerSpec[];
  /** A list of setting specs (weft's manifest today) or a JSON Schema object. */
  settings?: SettingSpec[] | { [key: string]: Json };
  /** Secret names, when the manifest lists them apart from settings. */
  secrets?: (string | SettingSpec)[];
  hosts?: string[];
  /** The OAuth 2.0 the host runs for the connector's connections; absent when it offers none. */
  oauth2?: OAuth2Spec;
  [key: string]: unknown;
}

export interface Plugin {
  name: string;
  world: 'connector' | 'transform';
  version: string;
  hash: string;
  description?: string;
  triggers?: string[];
  actions?: string[];
  used_by: string[];
  versions: PluginVersion[];
  manifest?: Manifest;
}

export interface PluginList {
  plugins: Plugin[];
  problems: { file: string; error: string }[];
}

// ---- connections -------------------------------------------------------------------------------

export interface Connection {
  id: string;
  plugin: string;
  settings: { [key: string]: Json };
  secrets: string[];
  hosts: string[];
  /** How often actions may call the application with this connection. */
  rate_limit?: RateLimit;
  /** The OAuth 2.0 grant its connector offers, or null when it offers none. */
  oauth_offered?: OAuthGrantType | null;
  /** Its OAuth 2.0 client and the state of its authorization (never a token), or null when none is set. */
  oauth?: OAuthView | null;
}

export type OAuthGrantType = 'authorization_code' | 'client_credentials';
export type OAuthStatus = 'not_authorized' | 'authorized' | 'needs_reauthorization';

/** How a connector obtains tokens for its connections (its manifest's `oauth2`). */
export interface OAuth2Spec {
  grant: OAuthGrantType;
  /** Where people sign in (empty for client credentials). */
  authorization_url: string;
  token_url: string;
  scopes: string[];
  pkce?: boolean;
  /** Host patterns the token is sent to. */
  hosts: string[];
  [key: string]: unknown;
}

/** A connection's OAuth 2.0 client (URLs, scopes and hosts as in effect) and authorization. */
export interface OAuthView {
  grant: OAuthGrantType | null;
  client_id: string;
  /** Whether a client secret is stored (never its value). */
  client_secret: boolean;
  authorization_url: string | null;
  token_url: string | null;
  scopes: string[] | null;
  token_hosts: string[] | null;
  status: OAuthStatus;
  /** Why it needs re-authorization. */
  reason: string | null;
  /** When the status last changed. */
  status_ms: number | null;
  /** When the access token expires, when the application said. */
  expires_ms: number | null;
  /** The scopes granted, as the application wrote them. */
  scope: string | null;
  refreshable: boolean;
  refreshes: number;
  refreshed_ms: number | null;
  /** An authorization was started and its callback has not come yet. */
  pending: boolean;
}

/** An OAuth client as a PUT sends it: an absent override means the connector's default. */
export interface OAuthInput {
  client_id: string;
  /** Absent: the stored secret is kept; null: it is removed. */
  client_secret?: string | null;
  authorization_url?: string;
  token_url?: string;
  scopes?: string[];
  token_hosts?: string[];
}

/** What starting an authorization gave. */
export interface AuthorizeResult {
  connection: string;
  /** Where the person signs in (authorization code), or null when authorized at once. */
  authorize_url: string | null;
  authorized: boolean;
  expires_ms: number | null;
  /** weft's callback URL, to register with the application. */
  callback: string;
}

/** A rate: per_second or per_minute, and how many may go at once after a quiet spell. */
export interface RateLimit {
  per_second?: number;
  per_minute?: number;
  burst?: number;
}

export interface ConnectionInput {
  plugin: string;
  settings: { [key: string]: Json };
  secrets: Record<string, string | null>;
  hosts: string[];
  /** Absent: the OAuth client is kept; null: it is removed with its tokens. */
  oauth?: OAuthInput | null;
}

// ---- server-sent events ------------------------------------------------------------------------

export interface RunEvent {
  id: string;
  flow: string;
  /** A test run (from the editor), not a production run. */
  test?: boolean;
  status: RunStatus;
  created_ms: number;
  updated_ms: number;
  error?: string;
}

export interface StepEvent {
  run: string;
  path: string;
  status: StepStatus;
}
