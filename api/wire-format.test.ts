/**
 * Pins berth's CRI v1 wire format to upstream kubernetes/cri-api runtime.v1.
 *
 * The tables below are the upstream contract written out in full: every message with its fields
 * (type, name, number, in upstream order), every enum value, every RPC. The tests
 * check that our proto declares exactly that, then encode realistic messages from our proto and
 * read the bytes back with a tiny independent wire reader (protobuf encoding spec,
 * https://protobuf.dev/programming-guides/encoding/): every field number and wire type found on
 * the wire must match the table, and every value must decode to what was sent. Renumbering,
 * retyping or renaming anything in api.proto makes this file fail.
 */
import * as protobuf from 'protobufjs';
import { criProtoPath, loadCri } from './index';
import type { ContainerConfig } from './generated/runtime/v1/ContainerConfig';
import type { CreateContainerRequest } from './generated/runtime/v1/CreateContainerRequest';
import type { PodSandboxConfig } from './generated/runtime/v1/PodSandboxConfig';
import type { StatusResponse } from './generated/runtime/v1/StatusResponse';
import type { VersionResponse } from './generated/runtime/v1/VersionResponse';

// ---------------------------------------------------------------------------------------------
// The upstream contract (kubernetes/cri-api, package runtime.v1)
// ---------------------------------------------------------------------------------------------

/**
 * Fields per message, in upstream declaration order, as proto declares them:
 * `[repeated ]<type> <name> = <number>` or `map<<key>, <value>> <name> = <number>`.
 */
const MESSAGES: Record<string, string[]> = {
  VersionRequest: ['string version = 1'],
  VersionResponse: [
    'string version = 1',
    'string runtime_name = 2',
    'string runtime_version = 3',
    'string runtime_api_version = 4',
  ],
  DNSConfig: ['repeated string servers = 1', 'repeated string searches = 2', 'repeated string options = 3'],
  PortMapping: [
    'Protocol protocol = 1',
    'int32 container_port = 2',
    'int32 host_port = 3',
    'string host_ip = 4',
  ],
  Mount: [
    'string container_path = 1',
    'string host_path = 2',
    'bool readonly = 3',
    'bool selinux_relabel = 4',
    'MountPropagation propagation = 5',
    'repeated IDMapping uidMappings = 6',
    'repeated IDMapping gidMappings = 7',
    'bool recursive_read_only = 8',
    'ImageSpec image = 9',
    'string image_sub_path = 10',
    'repeated string mount_options = 11',
  ],
  IDMapping: ['uint32 host_id = 1', 'uint32 container_id = 2', 'uint32 length = 3'],
  UserNamespace: ['NamespaceMode mode = 1', 'repeated IDMapping uids = 2', 'repeated IDMapping gids = 3'],
  NamespaceOption: [
    'NamespaceMode network = 1',
    'NamespaceMode pid = 2',
    'NamespaceMode ipc = 3',
    'string target_id = 4',
    'UserNamespace userns_options = 5',
  ],
  Int64Value: ['int64 value = 1'],
  LinuxSandboxSecurityContext: [
    'NamespaceOption namespace_options = 1',
    'SELinuxOption selinux_options = 2',
    'Int64Value run_as_user = 3',
    'Int64Value run_as_group = 8',
    'bool readonly_rootfs = 4',
    'repeated int64 supplemental_groups = 5',
    'SupplementalGroupsPolicy supplemental_groups_policy = 11',
    'bool privileged = 6',
    'SecurityProfile seccomp = 9',
    'SecurityProfile apparmor = 10',
    'string seccomp_profile_path = 7',
  ],
  SecurityProfile: ['ProfileType profile_type = 1', 'string localhost_ref = 2'],
  LinuxPodSandboxConfig: [
    'string cgroup_parent = 1',
    'LinuxSandboxSecurityContext security_context = 2',
    'map<string, string> sysctls = 3',
    'LinuxContainerResources overhead = 4',
    'LinuxContainerResources resources = 5',
  ],
  PodSandboxMetadata: ['string name = 1', 'string uid = 2', 'string namespace = 3', 'uint32 attempt = 4'],
  PodSandboxConfig: [
    'PodSandboxMetadata metadata = 1',
    'string hostname = 2',
    'string log_directory = 3',
    'DNSConfig dns_config = 4',
    'repeated PortMapping port_mappings = 5',
    'map<string, string> labels = 6',
    'map<string, string> annotations = 7',
    'LinuxPodSandboxConfig linux = 8',
    'WindowsPodSandboxConfig windows = 9',
  ],
  RunPodSandboxRequest: ['PodSandboxConfig config = 1', 'string runtime_handler = 2'],
  RunPodSandboxResponse: ['string pod_sandbox_id = 1'],
  StopPodSandboxRequest: ['string pod_sandbox_id = 1'],
  StopPodSandboxResponse: [],
  RemovePodSandboxRequest: ['string pod_sandbox_id = 1'],
  RemovePodSandboxResponse: [],
  PodSandboxStatusRequest: ['string pod_sandbox_id = 1', 'bool verbose = 2'],
  PodIP: ['string ip = 1'],
  PodSandboxNetworkStatus: ['string ip = 1', 'repeated PodIP additional_ips = 2'],
  Namespace: ['NamespaceOption options = 2'],
  LinuxPodSandboxStatus: ['Namespace namespaces = 1'],
  PodSandboxStatus: [
    'string id = 1',
    'PodSandboxMetadata metadata = 2',
    'PodSandboxState state = 3',
    'int64 created_at = 4',
    'PodSandboxNetworkStatus network = 5',
    'LinuxPodSandboxStatus linux = 6',
    'map<string, string> labels = 7',
    'map<string, string> annotations = 8',
    'string runtime_handler = 9',
  ],
  PodSandboxStatusResponse: [
    'PodSandboxStatus status = 1',
    'map<string, string> info = 2',
    'repeated ContainerStatus containers_statuses = 3',
    'int64 timestamp = 4',
  ],
  PodSandboxStateValue: ['PodSandboxState state = 1'],
  PodSandboxFilter: [
    'string id = 1',
    'PodSandboxStateValue state = 2',
    'map<string, string> label_selector = 3',
  ],
  ListPodSandboxRequest: ['PodSandboxFilter filter = 1'],
  PodSandbox: [
    'string id = 1',
    'PodSandboxMetadata metadata = 2',
    'PodSandboxState state = 3',
    'int64 created_at = 4',
    'map<string, string> labels = 5',
    'map<string, string> annotations = 6',
    'string runtime_handler = 7',
  ],
  ListPodSandboxResponse: ['repeated PodSandbox items = 1'],
  StreamPodSandboxesRequest: ['PodSandboxFilter filter = 1'],
  StreamPodSandboxesResponse: ['repeated PodSandbox pod_sandboxes = 1'],
  PodSandboxStatsRequest: ['string pod_sandbox_id = 1'],
  PodSandboxStatsResponse: ['PodSandboxStats stats = 1'],
  PodSandboxStatsFilter: ['string id = 1', 'map<string, string> label_selector = 2'],
  ListPodSandboxStatsRequest: ['PodSandboxStatsFilter filter = 1'],
  ListPodSandboxStatsResponse: ['repeated PodSandboxStats stats = 1'],
  StreamPodSandboxStatsRequest: ['PodSandboxStatsFilter filter = 1'],
  StreamPodSandboxStatsResponse: ['repeated PodSandboxStats pod_sandbox_stats = 1'],
  PodSandboxAttributes: [
    'string id = 1',
    'PodSandboxMetadata metadata = 2',
    'map<string, string> labels = 3',
    'map<string, string> annotations = 4',
  ],
  PodSandboxStats: [
    'PodSandboxAttributes attributes = 1',
    'LinuxPodSandboxStats linux = 2',
    'WindowsPodSandboxStats windows = 3',
  ],
  LinuxPodSandboxStats: [
    'CpuUsage cpu = 1',
    'MemoryUsage memory = 2',
    'NetworkUsage network = 3',
    'ProcessUsage process = 4',
    'repeated ContainerStats containers = 5',
    'IoUsage io = 6',
  ],
  WindowsPodSandboxStats: [
    'WindowsCpuUsage cpu = 1',
    'WindowsMemoryUsage memory = 2',
    'WindowsNetworkUsage network = 3',
    'WindowsProcessUsage process = 4',
    'repeated WindowsContainerStats containers = 5',
  ],
  NetworkUsage: [
    'int64 timestamp = 1',
    'NetworkInterfaceUsage default_interface = 2',
    'repeated NetworkInterfaceUsage interfaces = 3',
  ],
  WindowsNetworkUsage: [
    'int64 timestamp = 1',
    'WindowsNetworkInterfaceUsage default_interface = 2',
    'repeated WindowsNetworkInterfaceUsage interfaces = 3',
  ],
  NetworkInterfaceUsage: [
    'string name = 1',
    'UInt64Value rx_bytes = 2',
    'UInt64Value rx_errors = 3',
    'UInt64Value tx_bytes = 4',
    'UInt64Value tx_errors = 5',
  ],
  WindowsNetworkInterfaceUsage: [
    'string name = 1',
    'UInt64Value rx_bytes = 2',
    'UInt64Value rx_packets_dropped = 3',
    'UInt64Value tx_bytes = 4',
    'UInt64Value tx_packets_dropped = 5',
  ],
  ProcessUsage: ['int64 timestamp = 1', 'UInt64Value process_count = 2'],
  WindowsProcessUsage: ['int64 timestamp = 1', 'UInt64Value process_count = 2'],
  ImageSpec: [
    'string image = 1',
    'map<string, string> annotations = 2',
    'string user_specified_image = 18',
    'string runtime_handler = 19',
    'string image_ref = 20',
  ],
  KeyValue: ['string key = 1', 'bytes value = 2'],
  LinuxContainerResources: [
    'int64 cpu_period = 1',
    'int64 cpu_quota = 2',
    'int64 cpu_shares = 3',
    'int64 memory_limit_in_bytes = 4',
    'int64 oom_score_adj = 5',
    'string cpuset_cpus = 6',
    'string cpuset_mems = 7',
    'repeated HugepageLimit hugepage_limits = 8',
    'map<string, string> unified = 9',
    'int64 memory_swap_limit_in_bytes = 10',
  ],
  HugepageLimit: ['string page_size = 1', 'uint64 limit = 2'],
  SELinuxOption: ['string user = 1', 'string role = 2', 'string type = 3', 'string level = 4'],
  Capability: [
    'repeated string add_capabilities = 1',
    'repeated string drop_capabilities = 2',
    'repeated string add_ambient_capabilities = 3',
  ],
  LinuxContainerSecurityContext: [
    'Capability capabilities = 1',
    'bool privileged = 2',
    'NamespaceOption namespace_options = 3',
    'SELinuxOption selinux_options = 4',
    'Int64Value run_as_user = 5',
    'Int64Value run_as_group = 12',
    'string run_as_username = 6',
    'bool readonly_rootfs = 7',
    'repeated int64 supplemental_groups = 8',
    'SupplementalGroupsPolicy supplemental_groups_policy = 17',
    'bool no_new_privs = 11',
    'repeated string masked_paths = 13',
    'repeated string readonly_paths = 14',
    'SecurityProfile seccomp = 15',
    'SecurityProfile apparmor = 16',
    'string apparmor_profile = 9',
    'string seccomp_profile_path = 10',
  ],
  LinuxContainerConfig: [
    'LinuxContainerResources resources = 1',
    'LinuxContainerSecurityContext security_context = 2',
  ],
  LinuxContainerUser: ['int64 uid = 1', 'int64 gid = 2', 'repeated int64 supplemental_groups = 3'],
  WindowsNamespaceOption: ['NamespaceMode network = 1'],
  WindowsSandboxSecurityContext: [
    'string run_as_username = 1',
    'string credential_spec = 2',
    'bool host_process = 3',
    'WindowsNamespaceOption namespace_options = 4',
  ],
  WindowsPodSandboxConfig: ['WindowsSandboxSecurityContext security_context = 1'],
  WindowsContainerSecurityContext: [
    'string run_as_username = 1',
    'string credential_spec = 2',
    'bool host_process = 3',
  ],
  WindowsContainerConfig: [
    'WindowsContainerResources resources = 1',
    'WindowsContainerSecurityContext security_context = 2',
  ],
  WindowsContainerResources: [
    'int64 cpu_shares = 1',
    'int64 cpu_count = 2',
    'int64 cpu_maximum = 3',
    'int64 memory_limit_in_bytes = 4',
    'int64 rootfs_size_in_bytes = 5',
    'repeated WindowsCpuGroupAffinity affinity_cpus = 6',
  ],
  WindowsCpuGroupAffinity: ['uint64 cpu_mask = 1', 'uint32 cpu_group = 2'],
  ContainerMetadata: ['string name = 1', 'uint32 attempt = 2'],
  Device: ['string container_path = 1', 'string host_path = 2', 'string permissions = 3'],
  CDIDevice: ['string name = 1'],
  ContainerConfig: [
    'ContainerMetadata metadata = 1',
    'ImageSpec image = 2',
    'repeated string command = 3',
    'repeated string args = 4',
    'string working_dir = 5',
    'repeated KeyValue envs = 6',
    'repeated Mount mounts = 7',
    'repeated Device devices = 8',
    'map<string, string> labels = 9',
    'map<string, string> annotations = 10',
    'string log_path = 11',
    'bool stdin = 12',
    'bool stdin_once = 13',
    'bool tty = 14',
    'LinuxContainerConfig linux = 15',
    'WindowsContainerConfig windows = 16',
    'repeated CDIDevice CDI_devices = 17',
    'Signal stop_signal = 18',
  ],
  CreateContainerRequest: [
    'string pod_sandbox_id = 1',
    'ContainerConfig config = 2',
    'PodSandboxConfig sandbox_config = 3',
  ],
  CreateContainerResponse: ['string container_id = 1'],
  StartContainerRequest: ['string container_id = 1'],
  StartContainerResponse: [],
  StopContainerRequest: ['string container_id = 1', 'int64 timeout = 2'],
  StopContainerResponse: [],
  RemoveContainerRequest: ['string container_id = 1'],
  RemoveContainerResponse: [],
  ContainerStateValue: ['ContainerState state = 1'],
  ContainerFilter: [
    'string id = 1',
    'ContainerStateValue state = 2',
    'string pod_sandbox_id = 3',
    'map<string, string> label_selector = 4',
  ],
  ListContainersRequest: ['ContainerFilter filter = 1'],
  Container: [
    'string id = 1',
    'string pod_sandbox_id = 2',
    'ContainerMetadata metadata = 3',
    'ImageSpec image = 4',
    'string image_ref = 5',
    'ContainerState state = 6',
    'int64 created_at = 7',
    'map<string, string> labels = 8',
    'map<string, string> annotations = 9',
    'string image_id = 10',
  ],
  ListContainersResponse: ['repeated Container containers = 1'],
  StreamContainersRequest: ['ContainerFilter filter = 1'],
  StreamContainersResponse: ['repeated Container containers = 1'],
  ContainerStatusRequest: ['string container_id = 1', 'bool verbose = 2'],
  ContainerStatus: [
    'string id = 1',
    'ContainerMetadata metadata = 2',
    'ContainerState state = 3',
    'int64 created_at = 4',
    'int64 started_at = 5',
    'int64 finished_at = 6',
    'int32 exit_code = 7',
    'ImageSpec image = 8',
    'string image_ref = 9',
    'string reason = 10',
    'string message = 11',
    'map<string, string> labels = 12',
    'map<string, string> annotations = 13',
    'repeated Mount mounts = 14',
    'string log_path = 15',
    'ContainerResources resources = 16',
    'string image_id = 17',
    'ContainerUser user = 18',
    'Signal stop_signal = 19',
  ],
  ContainerStatusResponse: ['ContainerStatus status = 1', 'map<string, string> info = 2'],
  ContainerResources: ['LinuxContainerResources linux = 1', 'WindowsContainerResources windows = 2'],
  ContainerUser: ['LinuxContainerUser linux = 1'],
  UpdateContainerResourcesRequest: [
    'string container_id = 1',
    'LinuxContainerResources linux = 2',
    'WindowsContainerResources windows = 3',
    'map<string, string> annotations = 4',
  ],
  UpdateContainerResourcesResponse: [],
  ExecSyncRequest: ['string container_id = 1', 'repeated string cmd = 2', 'int64 timeout = 3'],
  ExecSyncResponse: ['bytes stdout = 1', 'bytes stderr = 2', 'int32 exit_code = 3'],
  ExecRequest: [
    'string container_id = 1',
    'repeated string cmd = 2',
    'bool tty = 3',
    'bool stdin = 4',
    'bool stdout = 5',
    'bool stderr = 6',
  ],
  ExecResponse: ['string url = 1'],
  AttachRequest: [
    'string container_id = 1',
    'bool stdin = 2',
    'bool tty = 3',
    'bool stdout = 4',
    'bool stderr = 5',
  ],
  AttachResponse: ['string url = 1'],
  PortForwardRequest: ['string pod_sandbox_id = 1', 'repeated int32 port = 2'],
  PortForwardResponse: ['string url = 1'],
  ImageFilter: ['ImageSpec image = 1'],
  ListImagesRequest: ['ImageFilter filter = 1'],
  Image: [
    'string id = 1',
    'repeated string repo_tags = 2',
    'repeated string repo_digests = 3',
    'uint64 size = 4',
    'Int64Value uid = 5',
    'string username = 6',
    'ImageSpec spec = 7',
    'bool pinned = 8',
  ],
  ListImagesResponse: ['repeated Image images = 1'],
  StreamImagesRequest: ['ImageFilter filter = 1'],
  StreamImagesResponse: ['repeated Image images = 1'],
  ImageStatusRequest: ['ImageSpec image = 1', 'bool verbose = 2'],
  ImageStatusResponse: ['Image image = 1', 'map<string, string> info = 2'],
  AuthConfig: [
    'string username = 1',
    'string password = 2',
    'string auth = 3',
    'string server_address = 4',
    'string identity_token = 5',
    'string registry_token = 6',
  ],
  PullImageRequest: ['ImageSpec image = 1', 'AuthConfig auth = 2', 'PodSandboxConfig sandbox_config = 3'],
  PullImageResponse: ['string image_ref = 1'],
  RemoveImageRequest: ['ImageSpec image = 1'],
  RemoveImageResponse: [],
  NetworkConfig: ['string pod_cidr = 1'],
  RuntimeConfig: ['NetworkConfig network_config = 1'],
  UpdateRuntimeConfigRequest: ['RuntimeConfig runtime_config = 1'],
  UpdateRuntimeConfigResponse: [],
  RuntimeCondition: ['string type = 1', 'bool status = 2', 'string reason = 3', 'string message = 4'],
  RuntimeStatus: ['repeated RuntimeCondition conditions = 1'],
  StatusRequest: ['bool verbose = 1'],
  RuntimeHandlerFeatures: ['bool recursive_read_only_mounts = 1', 'bool user_namespaces = 2'],
  RuntimeHandler: ['string name = 1', 'RuntimeHandlerFeatures features = 2'],
  RuntimeFeatures: [
    'bool supplemental_groups_policy = 1',
    'bool user_namespaces_host_network = 2',
    'bool mount_options = 3',
  ],
  StatusResponse: [
    'RuntimeStatus status = 1',
    'map<string, string> info = 2',
    'repeated RuntimeHandler runtime_handlers = 3',
    'RuntimeFeatures features = 4',
  ],
  ImageFsInfoRequest: [],
  UInt64Value: ['uint64 value = 1'],
  FilesystemIdentifier: ['string mountpoint = 1'],
  FilesystemUsage: [
    'int64 timestamp = 1',
    'FilesystemIdentifier fs_id = 2',
    'UInt64Value used_bytes = 3',
    'UInt64Value inodes_used = 4',
  ],
  WindowsFilesystemUsage: [
    'int64 timestamp = 1',
    'FilesystemIdentifier fs_id = 2',
    'UInt64Value used_bytes = 3',
  ],
  ImageFsInfoResponse: [
    'repeated FilesystemUsage image_filesystems = 1',
    'repeated FilesystemUsage container_filesystems = 2',
  ],
  ContainerStatsRequest: ['string container_id = 1'],
  ContainerStatsResponse: ['ContainerStats stats = 1'],
  ListContainerStatsRequest: ['ContainerStatsFilter filter = 1'],
  ContainerStatsFilter: [
    'string id = 1',
    'string pod_sandbox_id = 2',
    'map<string, string> label_selector = 3',
  ],
  ListContainerStatsResponse: ['repeated ContainerStats stats = 1'],
  StreamContainerStatsRequest: ['ContainerStatsFilter filter = 1'],
  StreamContainerStatsResponse: ['repeated ContainerStats container_stats = 1'],
  ContainerAttributes: [
    'string id = 1',
    'ContainerMetadata metadata = 2',
    'map<string, string> labels = 3',
    'map<string, string> annotations = 4',
  ],
  ContainerStats: [
    'ContainerAttributes attributes = 1',
    'CpuUsage cpu = 2',
    'MemoryUsage memory = 3',
    'FilesystemUsage writable_layer = 4',
    'SwapUsage swap = 5',
    'IoUsage io = 6',
  ],
  WindowsContainerStats: [
    'ContainerAttributes attributes = 1',
    'WindowsCpuUsage cpu = 2',
    'WindowsMemoryUsage memory = 3',
    'WindowsFilesystemUsage writable_layer = 4',
  ],
  PsiStats: ['PsiData Full = 1', 'PsiData Some = 2'],
  PsiData: ['uint64 Total = 1', 'double Avg10 = 2', 'double Avg60 = 3', 'double Avg300 = 4'],
  CpuUsage: [
    'int64 timestamp = 1',
    'UInt64Value usage_core_nano_seconds = 2',
    'UInt64Value usage_nano_cores = 3',
    'PsiStats psi = 4',
  ],
  WindowsCpuUsage: [
    'int64 timestamp = 1',
    'UInt64Value usage_core_nano_seconds = 2',
    'UInt64Value usage_nano_cores = 3',
  ],
  MemoryUsage: [
    'int64 timestamp = 1',
    'UInt64Value working_set_bytes = 2',
    'UInt64Value available_bytes = 3',
    'UInt64Value usage_bytes = 4',
    'UInt64Value rss_bytes = 5',
    'UInt64Value page_faults = 6',
    'UInt64Value major_page_faults = 7',
    'PsiStats psi = 8',
  ],
  IoUsage: ['int64 timestamp = 1', 'PsiStats psi = 2'],
  SwapUsage: [
    'int64 timestamp = 1',
    'UInt64Value swap_available_bytes = 2',
    'UInt64Value swap_usage_bytes = 3',
  ],
  WindowsMemoryUsage: [
    'int64 timestamp = 1',
    'UInt64Value working_set_bytes = 2',
    'UInt64Value available_bytes = 3',
    'UInt64Value page_faults = 4',
    'UInt64Value commit_memory_bytes = 5',
  ],
  ReopenContainerLogRequest: ['string container_id = 1'],
  ReopenContainerLogResponse: [],
  CheckpointContainerRequest: ['string container_id = 1', 'string location = 2', 'int64 timeout = 3'],
  CheckpointContainerResponse: [],
  CheckpointPodRequest: [
    'string pod_sandbox_id = 1',
    'string output_path = 2',
    'repeated string container_ids = 3',
    'map<string, string> options = 4',
  ],
  CheckpointPodResponse: [],
  RestorePodRequest: [
    'string checkpoint_path = 1',
    'PodSandboxConfig config = 2',
    'string runtime_handler = 3',
    'map<string, string> options = 4',
    'repeated ContainerConfig container_configs = 5',
  ],
  RestoredContainer: ['string name = 1', 'string container_id = 2'],
  RestorePodResponse: ['string pod_sandbox_id = 1', 'repeated RestoredContainer restored_containers = 2'],
  GetEventsRequest: [],
  ContainerEventResponse: [
    'string container_id = 1',
    'ContainerEventType container_event_type = 2',
    'int64 created_at = 3',
    'PodSandboxStatus pod_sandbox_status = 4',
    'repeated ContainerStatus containers_statuses = 5',
  ],
  ListMetricDescriptorsRequest: [],
  ListMetricDescriptorsResponse: ['repeated MetricDescriptor descriptors = 1'],
  MetricDescriptor: ['string name = 1', 'string help = 2', 'repeated string label_keys = 3'],
  ListPodSandboxMetricsRequest: [],
  ListPodSandboxMetricsResponse: ['repeated PodSandboxMetrics pod_metrics = 1'],
  StreamPodSandboxMetricsRequest: [],
  StreamPodSandboxMetricsResponse: ['repeated PodSandboxMetrics pod_sandbox_metrics = 1'],
  PodSandboxMetrics: [
    'string pod_sandbox_id = 1',
    'repeated Metric metrics = 2',
    'repeated ContainerMetrics container_metrics = 3',
  ],
  ContainerMetrics: ['string container_id = 1', 'repeated Metric metrics = 2'],
  Metric: [
    'string name = 1',
    'int64 timestamp = 2',
    'MetricType metric_type = 3',
    'repeated string label_values = 4',
    'UInt64Value value = 5',
  ],
  RuntimeConfigRequest: [],
  RuntimeConfigResponse: ['LinuxRuntimeConfiguration linux = 1'],
  LinuxRuntimeConfiguration: ['CgroupDriver cgroup_driver = 1'],
  UpdatePodSandboxResourcesRequest: [
    'string pod_sandbox_id = 1',
    'LinuxContainerResources overhead = 2',
    'LinuxContainerResources resources = 3',
  ],
  UpdatePodSandboxResourcesResponse: [],
};

/** Every enum, nested ones by their path. */
const ENUMS: Record<string, Record<string, number>> = {
  Protocol: { TCP: 0, UDP: 1, SCTP: 2 },
  MountPropagation: {
    PROPAGATION_PRIVATE: 0,
    PROPAGATION_HOST_TO_CONTAINER: 1,
    PROPAGATION_BIDIRECTIONAL: 2,
  },
  NamespaceMode: { POD: 0, CONTAINER: 1, NODE: 2, TARGET: 3 },
  SupplementalGroupsPolicy: { Merge: 0, Strict: 1 },
  'SecurityProfile.ProfileType': { RuntimeDefault: 0, Unconfined: 1, Localhost: 2 },
  PodSandboxState: { SANDBOX_READY: 0, SANDBOX_NOTREADY: 1 },
  Signal: {
    SIGNAL_RUNTIME_DEFAULT: 0,
    SIGNAL_SIGABRT: 1,
    SIGNAL_SIGALRM: 2,
    SIGNAL_SIGBUS: 3,
    SIGNAL_SIGCHLD: 4,
    SIGNAL_SIGCLD: 5,
    SIGNAL_SIGCONT: 6,
    SIGNAL_SIGFPE: 7,
    SIGNAL_SIGHUP: 8,
    SIGNAL_SIGILL: 9,
    SIGNAL_SIGINT: 10,
    SIGNAL_SIGIO: 11,
    SIGNAL_SIGIOT: 12,
    SIGNAL_SIGKILL: 13,
    SIGNAL_SIGPIPE: 14,
    SIGNAL_SIGPOLL: 15,
    SIGNAL_SIGPROF: 16,
    SIGNAL_SIGPWR: 17,
    SIGNAL_SIGQUIT: 18,
    SIGNAL_SIGSEGV: 19,
    SIGNAL_SIGSTKFLT: 20,
    SIGNAL_SIGSTOP: 21,
    SIGNAL_SIGSYS: 22,
    SIGNAL_SIGTERM: 23,
    SIGNAL_SIGTRAP: 24,
    SIGNAL_SIGTSTP: 25,
    SIGNAL_SIGTTIN: 26,
    SIGNAL_SIGTTOU: 27,
    SIGNAL_SIGURG: 28,
    SIGNAL_SIGUSR1: 29,
    SIGNAL_SIGUSR2: 30,
    SIGNAL_SIGVTALRM: 31,
    SIGNAL_SIGWINCH: 32,
    SIGNAL_SIGXCPU: 33,
    SIGNAL_SIGXFSZ: 34,
    SIGNAL_SIGRTMIN: 35,
    SIGNAL_SIGRTMINPLUS1: 36,
    SIGNAL_SIGRTMINPLUS2: 37,
    SIGNAL_SIGRTMINPLUS3: 38,
    SIGNAL_SIGRTMINPLUS4: 39,
    SIGNAL_SIGRTMINPLUS5: 40,
    SIGNAL_SIGRTMINPLUS6: 41,
    SIGNAL_SIGRTMINPLUS7: 42,
    SIGNAL_SIGRTMINPLUS8: 43,
    SIGNAL_SIGRTMINPLUS9: 44,
    SIGNAL_SIGRTMINPLUS10: 45,
    SIGNAL_SIGRTMINPLUS11: 46,
    SIGNAL_SIGRTMINPLUS12: 47,
    SIGNAL_SIGRTMINPLUS13: 48,
    SIGNAL_SIGRTMINPLUS14: 49,
    SIGNAL_SIGRTMINPLUS15: 50,
    SIGNAL_SIGRTMAXMINUS14: 51,
    SIGNAL_SIGRTMAXMINUS13: 52,
    SIGNAL_SIGRTMAXMINUS12: 53,
    SIGNAL_SIGRTMAXMINUS11: 54,
    SIGNAL_SIGRTMAXMINUS10: 55,
    SIGNAL_SIGRTMAXMINUS9: 56,
    SIGNAL_SIGRTMAXMINUS8: 57,
    SIGNAL_SIGRTMAXMINUS7: 58,
    SIGNAL_SIGRTMAXMINUS6: 59,
    SIGNAL_SIGRTMAXMINUS5: 60,
    SIGNAL_SIGRTMAXMINUS4: 61,
    SIGNAL_SIGRTMAXMINUS3: 62,
    SIGNAL_SIGRTMAXMINUS2: 63,
    SIGNAL_SIGRTMAXMINUS1: 64,
    SIGNAL_SIGRTMAX: 65,
  },
  ContainerState: { CONTAINER_CREATED: 0, CONTAINER_RUNNING: 1, CONTAINER_EXITED: 2, CONTAINER_UNKNOWN: 3 },
  ContainerEventType: {
    CONTAINER_CREATED_EVENT: 0,
    CONTAINER_STARTED_EVENT: 1,
    CONTAINER_STOPPED_EVENT: 2,
    CONTAINER_DELETED_EVENT: 3,
  },
  MetricType: { COUNTER: 0, GAUGE: 1 },
  CgroupDriver: { SYSTEMD: 0, CGROUPFS: 1 },
};

/** Every RPC: service, method, request type, response type (`stream ` marks a server stream). */
const RPCS: [string, string, string, string][] = [
  ['RuntimeService', 'Version', 'VersionRequest', 'VersionResponse'],
  ['RuntimeService', 'RunPodSandbox', 'RunPodSandboxRequest', 'RunPodSandboxResponse'],
  ['RuntimeService', 'StopPodSandbox', 'StopPodSandboxRequest', 'StopPodSandboxResponse'],
  ['RuntimeService', 'RemovePodSandbox', 'RemovePodSandboxRequest', 'RemovePodSandboxResponse'],
  ['RuntimeService', 'PodSandboxStatus', 'PodSandboxStatusRequest', 'PodSandboxStatusResponse'],
  ['RuntimeService', 'ListPodSandbox', 'ListPodSandboxRequest', 'ListPodSandboxResponse'],
  ['RuntimeService', 'StreamPodSandboxes', 'StreamPodSandboxesRequest', 'stream StreamPodSandboxesResponse'],
  ['RuntimeService', 'CreateContainer', 'CreateContainerRequest', 'CreateContainerResponse'],
  ['RuntimeService', 'StartContainer', 'StartContainerRequest', 'StartContainerResponse'],
  ['RuntimeService', 'StopContainer', 'StopContainerRequest', 'StopContainerResponse'],
  ['RuntimeService', 'RemoveContainer', 'RemoveContainerRequest', 'RemoveContainerResponse'],
  ['RuntimeService', 'ListContainers', 'ListContainersRequest', 'ListContainersResponse'],
  ['RuntimeService', 'StreamContainers', 'StreamContainersRequest', 'stream StreamContainersResponse'],
  ['RuntimeService', 'ContainerStatus', 'ContainerStatusRequest', 'ContainerStatusResponse'],
  [
    'RuntimeService',
    'UpdateContainerResources',
    'UpdateContainerResourcesRequest',
    'UpdateContainerResourcesResponse',
  ],
  ['RuntimeService', 'ReopenContainerLog', 'ReopenContainerLogRequest', 'ReopenContainerLogResponse'],
  ['RuntimeService', 'ExecSync', 'ExecSyncRequest', 'ExecSyncResponse'],
  ['RuntimeService', 'Exec', 'ExecRequest', 'ExecResponse'],
  ['RuntimeService', 'Attach', 'AttachRequest', 'AttachResponse'],
  ['RuntimeService', 'PortForward', 'PortForwardRequest', 'PortForwardResponse'],
  ['RuntimeService', 'ContainerStats', 'ContainerStatsRequest', 'ContainerStatsResponse'],
  ['RuntimeService', 'ListContainerStats', 'ListContainerStatsRequest', 'ListContainerStatsResponse'],
  [
    'RuntimeService',
    'StreamContainerStats',
    'StreamContainerStatsRequest',
    'stream StreamContainerStatsResponse',
  ],
  ['RuntimeService', 'PodSandboxStats', 'PodSandboxStatsRequest', 'PodSandboxStatsResponse'],
  ['RuntimeService', 'ListPodSandboxStats', 'ListPodSandboxStatsRequest', 'ListPodSandboxStatsResponse'],
  [
    'RuntimeService',
    'StreamPodSandboxStats',
    'StreamPodSandboxStatsRequest',
    'stream StreamPodSandboxStatsResponse',
  ],
  ['RuntimeService', 'UpdateRuntimeConfig', 'UpdateRuntimeConfigRequest', 'UpdateRuntimeConfigResponse'],
  ['RuntimeService', 'Status', 'StatusRequest', 'StatusResponse'],
  ['RuntimeService', 'CheckpointContainer', 'CheckpointContainerRequest', 'CheckpointContainerResponse'],
  ['RuntimeService', 'CheckpointPod', 'CheckpointPodRequest', 'CheckpointPodResponse'],
  ['RuntimeService', 'RestorePod', 'RestorePodRequest', 'RestorePodResponse'],
  ['RuntimeService', 'GetContainerEvents', 'GetEventsRequest', 'stream ContainerEventResponse'],
  [
    'RuntimeService',
    'ListMetricDescriptors',
    'ListMetricDescriptorsRequest',
    'ListMetricDescriptorsResponse',
  ],
  [
    'RuntimeService',
    'ListPodSandboxMetrics',
    'ListPodSandboxMetricsRequest',
    'ListPodSandboxMetricsResponse',
  ],
  [
    'RuntimeService',
    'StreamPodSandboxMetrics',
    'StreamPodSandboxMetricsRequest',
    'stream StreamPodSandboxMetricsResponse',
  ],
  ['RuntimeService', 'RuntimeConfig', 'RuntimeConfigRequest', 'RuntimeConfigResponse'],
  [
    'RuntimeService',
    'UpdatePodSandboxResources',
    'UpdatePodSandboxResourcesRequest',
    'UpdatePodSandboxResourcesResponse',
  ],
  ['ImageService', 'ListImages', 'ListImagesRequest', 'ListImagesResponse'],
  ['ImageService', 'StreamImages', 'StreamImagesRequest', 'stream StreamImagesResponse'],
  ['ImageService', 'ImageStatus', 'ImageStatusRequest', 'ImageStatusResponse'],
  ['ImageService', 'PullImage', 'PullImageRequest', 'PullImageResponse'],
  ['ImageService', 'RemoveImage', 'RemoveImageRequest', 'RemoveImageResponse'],
  ['ImageService', 'ImageFsInfo', 'ImageFsInfoRequest', 'ImageFsInfoResponse'],
];

// ---------------------------------------------------------------------------------------------
// The contract as data
// ---------------------------------------------------------------------------------------------

interface ContractField {
  message: string;
  name: string;
  number: number;
  /** Element type for repeated fields, value type for maps. */
  type: string;
  repeated: boolean;
  /** Key type of a map field. */
  mapKey?: string;
}

function parseRow(message: string, row: string): ContractField {
  const match = /^(?:(repeated) |map<(\w+), )?(\w+)>? (\w+) = (\d+)$/.exec(row);
  if (!match) throw new Error(`bad contract row ${message}: ${row}`);
  const [, repeated, mapKey, type, name, number] = match;
  return { message, name, number: Number(number), type, repeated: repeated !== undefined, mapKey };
}

const CONTRACT = new Map(
  Object.entries(MESSAGES).map(([message, rows]) => [message, rows.map((row) => parseRow(message, row))]),
);

function contractFields(message: string): ContractField[] {
  const fields = CONTRACT.get(message);
  if (!fields) throw new Error(`no message ${message} in the contract`);
  return fields;
}

function contractField(message: string, key: string | number): ContractField {
  const field = contractFields(message).find((f) => (typeof key === 'number' ? f.number : f.name) === key);
  if (!field) throw new Error(`no field ${key} in ${message}`);
  return field;
}

/** The enum a field refers to (nested enums first, as protobuf resolves names), if any. */
function enumOf(field: ContractField): Record<string, number> | undefined {
  return ENUMS[`${field.message}.${field.type}`] ?? ENUMS[field.type];
}

// Wire types, https://protobuf.dev/programming-guides/encoding/#structure
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

const SCALAR_WIRE_TYPES: Record<string, number> = {
  int32: VARINT,
  int64: VARINT,
  uint32: VARINT,
  uint64: VARINT,
  bool: VARINT,
  double: I64,
  string: LEN,
  bytes: LEN,
};

/**
 * The wire type a field must have on the wire. Maps are repeated entry messages; repeated
 * numbers and enums are packed into one LEN record (proto3's default); other repeated fields
 * repeat their element's wire type.
 */
function expectedWireType(field: ContractField): number {
  if (field.mapKey) return LEN;
  const element = enumOf(field)
    ? VARINT
    : CONTRACT.has(field.type)
      ? LEN
      : (SCALAR_WIRE_TYPES[field.type] ??
        (() => {
          throw new Error(`unknown type ${field.type} of ${field.message}.${field.name}`);
        })());
  return field.repeated && element !== LEN ? LEN : element;
}

// ---------------------------------------------------------------------------------------------
// A tiny wire reader, independent of protobufjs
// ---------------------------------------------------------------------------------------------

interface WireRecord {
  number: number;
  wireType: number;
  /** The value of a VARINT record. */
  varint?: bigint;
  /** The payload of a LEN, I64 or I32 record. */
  data?: Uint8Array;
}

function readVarint(buf: Uint8Array, start: number): { value: bigint; end: number } {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (start + i >= buf.length) throw new Error(`truncated varint at byte ${start}`);
    const byte = buf[start + i];
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) return { value, end: start + i + 1 };
  }
  throw new Error(`varint longer than 10 bytes at byte ${start}`);
}

/** Splits an encoded message into its records: tag varint (number << 3 | wire type), then payload. */
function readRecords(buf: Uint8Array): WireRecord[] {
  const records: WireRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    const number = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    if (number === 0) throw new Error(`field number 0 at byte ${pos}`);
    pos = tag.end;
    let size: number;
    if (wireType === VARINT) {
      const value = readVarint(buf, pos);
      records.push({ number, wireType, varint: value.value });
      pos = value.end;
      continue;
    } else if (wireType === LEN) {
      const length = readVarint(buf, pos);
      pos = length.end;
      size = Number(length.value);
    } else if (wireType === I64 || wireType === I32) {
      size = wireType === I64 ? 8 : 4;
    } else {
      throw new Error(`unsupported wire type ${wireType} for field ${number}`);
    }
    if (pos + size > buf.length) throw new Error(`field ${number} runs past the end of the message`);
    records.push({ number, wireType, data: buf.subarray(pos, pos + size) });
    pos += size;
  }
  return records;
}

const utf8 = (data: Uint8Array): string => Buffer.from(data).toString('utf8');

/**
 * An encoded message read against the contract. Construction checks every record: its number
 * must be a field of the message and its wire type the one that field's type dictates. The
 * accessors then find a field by name and decode it.
 */
class WireMessage {
  readonly records: WireRecord[];

  constructor(
    readonly type: string,
    bytes: Uint8Array,
  ) {
    this.records = readRecords(bytes);
    for (const record of this.records) {
      const field = contractField(type, record.number);
      expect({ field: `${type}.${field.name}`, wireType: record.wireType }).toEqual({
        field: `${type}.${field.name}`,
        wireType: expectedWireType(field),
      });
    }
  }

  /**
   * The field numbers present, sorted. Encoders may order records as they like, and may or may
   * not write a scalar that holds its default value (protobufjs 8 skips it, protobufjs 7 under
   * @grpc/proto-loader writes it when it was set), so samples checked this way set no defaults.
   */
  numbers(): number[] {
    return this.records.map((r) => r.number).sort((a, b) => a - b);
  }

  private all(name: string): WireRecord[] {
    const field = contractField(this.type, name);
    return this.records.filter((r) => r.number === field.number);
  }

  private one(name: string): WireRecord {
    const found = this.all(name);
    if (found.length !== 1) throw new Error(`${this.type}.${name}: ${found.length} records, expected 1`);
    return found[0];
  }

  /** A singular scalar: absent means its default value (proto3 implicit presence). */
  private scalar(name: string): WireRecord | undefined {
    const found = this.all(name);
    if (found.length > 1)
      throw new Error(`${this.type}.${name}: ${found.length} records of a singular field`);
    return found[0];
  }

  has(name: string): boolean {
    return this.all(name).length > 0;
  }

  string(name: string): string {
    return utf8(this.scalar(name)?.data ?? new Uint8Array());
  }

  strings(name: string): string[] {
    return this.all(name).map((r) => utf8(r.data!));
  }

  bytes(name: string): Buffer {
    return Buffer.from(this.scalar(name)?.data ?? new Uint8Array());
  }

  /** Any varint field, as the unsigned value on the wire. */
  varint(name: string): bigint {
    return this.scalar(name)?.varint ?? 0n;
  }

  /** int64/int32 decoding: negative values are 64-bit two's complement on the wire. */
  signed(name: string): bigint {
    return BigInt.asIntN(64, this.varint(name));
  }

  bool(name: string): boolean {
    const value = this.varint(name);
    expect(value === 0n || value === 1n).toBe(true);
    return value === 1n;
  }

  enumName(name: string): string {
    const values = enumOf(contractField(this.type, name));
    if (!values) throw new Error(`${this.type}.${name} is not an enum`);
    const number = Number(this.varint(name));
    const found = Object.entries(values).find(([, v]) => v === number);
    if (!found) throw new Error(`${this.type}.${name}: ${number} is not a value of its enum`);
    return found[0];
  }

  double(name: string): number {
    const record = this.scalar(name);
    return record ? Buffer.from(record.data!).readDoubleLE(0) : 0;
  }

  /** Packed repeated varints (several LEN records are legal and concatenate). */
  packedSigned(name: string): bigint[] {
    const values: bigint[] = [];
    for (const record of this.all(name)) {
      for (let pos = 0; pos < record.data!.length;) {
        const value = readVarint(record.data!, pos);
        values.push(BigInt.asIntN(64, value.value));
        pos = value.end;
      }
    }
    return values;
  }

  message(name: string): WireMessage {
    return new WireMessage(contractField(this.type, name).type, this.one(name).data!);
  }

  messages(name: string): WireMessage[] {
    const type = contractField(this.type, name).type;
    return this.all(name).map((r) => new WireMessage(type, r.data!));
  }

  /** A map<string, string>: each entry is a message with key = 1 and value = 2, both LEN. */
  stringMap(name: string): Record<string, string> {
    const field = contractField(this.type, name);
    expect([field.mapKey, field.type]).toEqual(['string', 'string']);
    return Object.fromEntries(
      this.all(name).map((record) => {
        const entry = readRecords(record.data!);
        expect(entry.map((r) => [r.number, r.wireType])).toEqual([
          [1, LEN],
          [2, LEN],
        ]);
        return [utf8(entry[0].data!), utf8(entry[1].data!)];
      }),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding and decoding with protobufjs from our proto
// ---------------------------------------------------------------------------------------------

const root = new protobuf.Root().loadSync(criProtoPath(), { keepCase: true });
const ours = root.lookup('runtime.v1') as protobuf.Namespace;

function encode(type: string, value: object): Uint8Array {
  const messageType = root.lookupType(`runtime.v1.${type}`);
  return messageType.encode(messageType.fromObject(value)).finish();
}

/** Plain objects as our gRPC layer yields them: 64-bit numbers and enums as strings, defaults filled. */
const PLAIN: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true };

function decode(type: string, bytes: Uint8Array): object {
  const messageType = root.lookupType(`runtime.v1.${type}`);
  return messageType.toObject(messageType.decode(bytes), PLAIN);
}

/** A sample in the same plain form, without going through the wire. */
function normalize(type: string, value: object): object {
  const messageType = root.lookupType(`runtime.v1.${type}`);
  return messageType.toObject(messageType.fromObject(value), PLAIN);
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

// ---------------------------------------------------------------------------------------------
// Samples, shaped like what the kubelet sends (int64/uint64 as strings, as our loader yields)
// ---------------------------------------------------------------------------------------------

const POD_UID = 'c4a1f0e2-5b7d-4e11-9d2a-0f6b1e7c3a55';

const podSandboxConfig: PodSandboxConfig = {
  metadata: { name: 'web-0', uid: POD_UID, namespace: 'shop', attempt: 3 },
  hostname: 'web-0',
  log_directory: `/var/log/pods/shop_web-0_${POD_UID}`,
  dns_config: {
    servers: ['10.96.0.10', 'fd00::a'],
    searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
    options: ['ndots:5', 'edns0'],
  },
  port_mappings: [
    { protocol: 'TCP', container_port: 8080, host_port: 80, host_ip: '127.0.0.1' },
    { protocol: 'UDP', container_port: 53, host_port: 5353 },
    { protocol: 'SCTP', container_port: 9999, host_port: 19999, host_ip: '::1' },
  ],
  labels: { app: 'web', 'io.kubernetes.pod.name': 'web-0' },
  annotations: { 'kubernetes.io/config.source': 'api', 'example.com/note': 'grüß dich ✓' },
  linux: {
    cgroup_parent: `/kubepods/burstable/pod${POD_UID}`,
    security_context: {
      namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' },
      run_as_user: { value: '0' },
      supplemental_groups: ['1000', '65534'],
      supplemental_groups_policy: 'Strict',
      privileged: true,
      seccomp: { profile_type: 'Localhost', localhost_ref: '/var/lib/kubelet/seccomp/audit.json' },
    },
    sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1' },
  },
};

const IMAGE_ID = 'sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741';

const containerConfig: ContainerConfig = {
  metadata: { name: 'app', attempt: 1 },
  image: { image: IMAGE_ID, user_specified_image: 'registry.local:5000/shop/web:1.2' },
  command: ['/bin/sh', '-c'],
  args: ['exec httpd -f -p 8080'],
  working_dir: '/srv',
  envs: [
    { key: 'PATH', value: Buffer.from('/usr/bin:/bin') },
    { key: 'GREETING', value: Buffer.from('grüß dich') },
  ],
  mounts: [
    {
      container_path: '/data',
      host_path: `/var/lib/kubelet/pods/${POD_UID}/volumes/kubernetes.io~empty-dir/data`,
      selinux_relabel: true,
      propagation: 'PROPAGATION_HOST_TO_CONTAINER',
    },
    { container_path: '/etc/hosts', host_path: `/var/lib/kubelet/pods/${POD_UID}/etc-hosts`, readonly: true },
    {
      container_path: '/models',
      readonly: true,
      uidMappings: [{ host_id: 100000, container_id: 0, length: 65536 }],
      recursive_read_only: true,
      image: { image: IMAGE_ID },
      image_sub_path: 'v2',
      mount_options: ['noexec', 'nosuid'],
    },
  ],
  devices: [{ container_path: '/dev/fuse', host_path: '/dev/fuse', permissions: 'rwm' }],
  labels: { 'io.kubernetes.container.name': 'app' },
  annotations: { 'io.kubernetes.container.restartCount': '1' },
  log_path: 'app/1.log',
  stdin: true,
  stdin_once: true,
  linux: {
    resources: {
      cpu_period: '100000',
      cpu_quota: '50000',
      cpu_shares: '512',
      memory_limit_in_bytes: '268435456',
      oom_score_adj: '-997',
      cpuset_cpus: '0-1',
      cpuset_mems: '0',
      hugepage_limits: [{ page_size: '2MB', limit: '1073741824' }],
      unified: { 'memory.high': '201326592' },
      memory_swap_limit_in_bytes: '9223372036854775807',
    },
    security_context: {
      capabilities: { add_capabilities: ['NET_BIND_SERVICE'], drop_capabilities: ['ALL'] },
      run_as_user: { value: '1000' },
      run_as_group: { value: '1000' },
      no_new_privs: true,
      masked_paths: ['/proc/kcore', '/proc/keys'],
      readonly_paths: ['/proc/sys'],
      seccomp: { profile_type: 'RuntimeDefault' },
    },
  },
  CDI_devices: [{ name: 'vendor.example/gpu=gpu0' }],
  stop_signal: 'SIGNAL_SIGUSR1',
};

const createContainerRequest: CreateContainerRequest = {
  pod_sandbox_id: 'f'.repeat(64),
  config: containerConfig,
  sandbox_config: podSandboxConfig,
};

const versionResponse: VersionResponse = {
  version: '0.1.0',
  runtime_name: 'berth',
  runtime_version: '0.1.0',
  runtime_api_version: 'v1',
};

const statusResponse: StatusResponse = {
  status: {
    conditions: [
      { type: 'RuntimeReady', status: true },
      { type: 'NetworkReady', reason: 'NetworkPluginNotReady', message: 'no CNI configuration found' },
    ],
  },
  info: { config: '{"cgroupDriver":"cgroupfs"}' },
  runtime_handlers: [
    { name: '', features: { recursive_read_only_mounts: true, user_namespaces: true } },
    { name: 'runc', features: { recursive_read_only_mounts: true } },
  ],
  features: { supplemental_groups_policy: true, mount_options: true },
};

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/** Every type in our runtime.v1 package, by its path relative to the package. */
function ourTypes(): { messages: Map<string, protobuf.Type>; enums: Map<string, protobuf.Enum> } {
  const messages = new Map<string, protobuf.Type>();
  const enums = new Map<string, protobuf.Enum>();
  const walk = (ns: protobuf.NamespaceBase, prefix: string): void => {
    for (const item of ns.nestedArray) {
      if (item instanceof protobuf.Type) messages.set(prefix + item.name, item);
      if (item instanceof protobuf.Enum) enums.set(prefix + item.name, item);
      if (item instanceof protobuf.Namespace || item instanceof protobuf.Type)
        walk(item, `${prefix}${item.name}.`);
    }
  };
  walk(ours, '');
  return { messages, enums };
}

function rowOf(field: protobuf.Field): string {
  const map = field instanceof protobuf.MapField ? `map<${field.keyType}, ${field.type}>` : undefined;
  return `${map ?? (field.repeated ? `repeated ${field.type}` : field.type)} ${field.name} = ${field.id}`;
}

describe('our proto declares exactly the upstream contract', () => {
  const { messages, enums } = ourTypes();

  it('has the same 175 messages and 11 enums', () => {
    expect(Object.keys(MESSAGES)).toHaveLength(175);
    expect(Object.keys(ENUMS)).toHaveLength(11);
    expect([...messages.keys()].sort()).toEqual(Object.keys(MESSAGES).sort());
    expect([...enums.keys()].sort()).toEqual(Object.keys(ENUMS).sort());
  });

  it.each(Object.keys(MESSAGES))('%s: same field types, names and numbers, in upstream order', (name) => {
    expect(messages.get(name)?.fieldsArray.map(rowOf)).toEqual(MESSAGES[name]);
  });

  it.each(Object.keys(ENUMS))('enum %s: same values', (name) => {
    expect(enums.get(name)?.values).toEqual(ENUMS[name]);
  });

  it('has the 43 RPCs with upstream request and response types and streaming', () => {
    expect(RPCS).toHaveLength(43);
    const declared: string[][] = [];
    for (const service of ['RuntimeService', 'ImageService']) {
      for (const method of root.lookupService(`runtime.v1.${service}`).methodsArray) {
        const response = `${method.responseStream ? 'stream ' : ''}${method.responseType}`;
        expect(method.requestStream ?? false).toBe(false);
        declared.push([service, method.name, method.requestType, response]);
      }
    }
    expect(declared).toEqual(RPCS);
  });

  it('serves every RPC at /runtime.v1.<Service>/<Method> through loadCri()', () => {
    const services = loadCri().runtime.v1;
    for (const [service, method, , response] of RPCS) {
      const definition = (
        services[service as 'RuntimeService' | 'ImageService'].service as unknown as Record<
          string,
          { path: string; requestStream: boolean; responseStream: boolean }
        >
      )[method];
      expect(definition).toMatchObject({
        path: `/runtime.v1.${service}/${method}`,
        requestStream: false,
        responseStream: response.startsWith('stream '),
      });
    }
  });
});

describe('hand-encoded bytes (no reader involved)', () => {
  it.each([
    ['VersionRequest', { version: 'v1' }, '0a027631'],
    // protocol = 1 VARINT 1, container_port = 2 VARINT 53, host_port = 3 VARINT 5353, host_ip = 4 LEN.
    [
      'PortMapping',
      { protocol: 'UDP', container_port: 53, host_port: 5353, host_ip: '::1' },
      '0801103518e92922033a3a31',
    ],
    ['PodSandboxMetadata', { name: 'a', uid: 'u', namespace: 'n', attempt: 300 }, '0a01611201751a016e20ac02'],
    // labels = 6 is a map: one LEN entry holding key = 1 and value = 2.
    ['PodSandboxConfig', { labels: { a: 'b' } }, '32060a0161120162'],
    // supplemental_groups = 5 is packed: one LEN record of varints.
    ['LinuxSandboxSecurityContext', { supplemental_groups: ['1', '2'] }, '2a020102'],
    // A negative int64 is ten bytes of two's complement.
    ['LinuxContainerResources', { oom_score_adj: '-1' }, '28ffffffffffffffffff01'],
    // Field numbers >= 16 take a two-byte tag: stop_signal = 18 VARINT, user_specified_image = 18 LEN.
    ['ContainerConfig', { stop_signal: 'SIGNAL_SIGKILL' }, '90010d'],
    ['ImageSpec', { user_specified_image: 'x' }, '92010178'],
    // double is I64, little-endian.
    ['PsiData', { Avg10: 1.5 }, '11000000000000f83f'],
  ])('%s %j encodes as %s', (type, value, expected) => {
    expect(hex(encode(type, value))).toBe(expected);
  });
});

/** Checks a PodSandboxConfig on the wire against podSandboxConfig, field by field. */
function expectPodSandboxConfig(pod: WireMessage): void {
  expect(pod.numbers()).toEqual([1, 2, 3, 4, 5, 5, 5, 6, 6, 7, 7, 8]);

  const metadata = pod.message('metadata');
  expect(metadata.numbers()).toEqual([1, 2, 3, 4]);
  expect([metadata.string('name'), metadata.string('uid'), metadata.string('namespace')]).toEqual([
    'web-0',
    POD_UID,
    'shop',
  ]);
  expect(metadata.varint('attempt')).toBe(3n);

  expect(pod.string('hostname')).toBe('web-0');
  expect(pod.string('log_directory')).toBe(`/var/log/pods/shop_web-0_${POD_UID}`);

  const dns = pod.message('dns_config');
  expect(dns.strings('servers')).toEqual(['10.96.0.10', 'fd00::a']);
  expect(dns.strings('searches')).toEqual(['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
  expect(dns.strings('options')).toEqual(['ndots:5', 'edns0']);

  const ports = pod.messages('port_mappings').map((p) => ({
    protocol: p.enumName('protocol'),
    container_port: Number(p.varint('container_port')),
    host_port: Number(p.varint('host_port')),
    host_ip: p.string('host_ip'),
  }));
  expect(ports).toEqual([
    { protocol: 'TCP', container_port: 8080, host_port: 80, host_ip: '127.0.0.1' },
    { protocol: 'UDP', container_port: 53, host_port: 5353, host_ip: '' },
    { protocol: 'SCTP', container_port: 9999, host_port: 19999, host_ip: '::1' },
  ]);

  expect(pod.stringMap('labels')).toEqual({ app: 'web', 'io.kubernetes.pod.name': 'web-0' });
  expect(pod.stringMap('annotations')).toEqual({
    'kubernetes.io/config.source': 'api',
    'example.com/note': 'grüß dich ✓',
  });

  const linux = pod.message('linux');
  expect(linux.numbers()).toEqual([1, 2, 3, 3]);
  expect(linux.string('cgroup_parent')).toBe(`/kubepods/burstable/pod${POD_UID}`);
  expect(linux.stringMap('sysctls')).toEqual({
    'net.ipv4.ip_unprivileged_port_start': '0',
    'kernel.shm_rmid_forced': '1',
  });

  const security = linux.message('security_context');
  expect(security.numbers()).toEqual([1, 3, 5, 6, 9, 11]);
  const namespaces = security.message('namespace_options');
  expect([namespaces.enumName('network'), namespaces.enumName('pid'), namespaces.enumName('ipc')]).toEqual([
    'NODE',
    'CONTAINER',
    'POD',
  ]);
  // A wrapper tells "root" from "unset": the record is there even though its value is 0.
  expect(security.has('run_as_user')).toBe(true);
  expect(security.message('run_as_user').signed('value')).toBe(0n);
  expect(security.packedSigned('supplemental_groups')).toEqual([1000n, 65534n]);
  expect(security.enumName('supplemental_groups_policy')).toBe('Strict');
  expect(security.bool('privileged')).toBe(true);
  const seccomp = security.message('seccomp');
  expect([seccomp.enumName('profile_type'), seccomp.string('localhost_ref')]).toEqual([
    'Localhost',
    '/var/lib/kubelet/seccomp/audit.json',
  ]);
}

/** How each sample reaches the wire: through protobufjs directly, or through our gRPC layer. */
interface Wire {
  podSandboxConfig(): WireMessage;
  createContainerRequest(): WireMessage;
  versionResponse(): WireMessage;
  statusResponse(): WireMessage;
}

const runtimeService = () => loadCri().runtime.v1.RuntimeService.service;

const ENCODERS: [string, Wire][] = [
  [
    'protobufjs',
    {
      podSandboxConfig: () =>
        new WireMessage('PodSandboxConfig', encode('PodSandboxConfig', podSandboxConfig)),
      createContainerRequest: () =>
        new WireMessage('CreateContainerRequest', encode('CreateContainerRequest', createContainerRequest)),
      versionResponse: () => new WireMessage('VersionResponse', encode('VersionResponse', versionResponse)),
      statusResponse: () => new WireMessage('StatusResponse', encode('StatusResponse', statusResponse)),
    },
  ],
  [
    'the gRPC service definitions of loadCri()',
    {
      podSandboxConfig: () => {
        const bytes = runtimeService().RunPodSandbox.requestSerialize({ config: podSandboxConfig });
        return new WireMessage('RunPodSandboxRequest', bytes).message('config');
      },
      createContainerRequest: () =>
        new WireMessage(
          'CreateContainerRequest',
          runtimeService().CreateContainer.requestSerialize(createContainerRequest),
        ),
      versionResponse: () =>
        new WireMessage('VersionResponse', runtimeService().Version.responseSerialize(versionResponse)),
      statusResponse: () =>
        new WireMessage('StatusResponse', runtimeService().Status.responseSerialize(statusResponse)),
    },
  ],
];

describe.each(ENCODERS)('encoded by %s', (_, wire) => {
  describe('PodSandboxConfig', () => {
    it('carries every field under its upstream number and wire type', () => {
      expectPodSandboxConfig(wire.podSandboxConfig());
    });
  });

  describe('CreateContainerRequest', () => {
    it('has the sandbox id, the container config and the sandbox config', () => {
      const request = wire.createContainerRequest();
      expect(request.numbers()).toEqual([1, 2, 3]);
      expect(request.string('pod_sandbox_id')).toBe('f'.repeat(64));
      expectPodSandboxConfig(request.message('sandbox_config'));
    });

    it('carries the container config field by field', () => {
      const config = wire.createContainerRequest().message('config');
      expect(config.numbers()).toEqual([1, 2, 3, 3, 4, 5, 6, 6, 7, 7, 7, 8, 9, 10, 11, 12, 13, 15, 17, 18]);
      const metadata = config.message('metadata');
      expect([metadata.string('name'), metadata.varint('attempt')]).toEqual(['app', 1n]);
      const image = config.message('image');
      expect(image.numbers()).toEqual([1, 18]);
      expect([image.string('image'), image.string('user_specified_image')]).toEqual([
        IMAGE_ID,
        'registry.local:5000/shop/web:1.2',
      ]);
      expect(config.strings('command')).toEqual(['/bin/sh', '-c']);
      expect(config.strings('args')).toEqual(['exec httpd -f -p 8080']);
      expect(config.string('working_dir')).toBe('/srv');
      expect(config.stringMap('labels')).toEqual({ 'io.kubernetes.container.name': 'app' });
      expect(config.stringMap('annotations')).toEqual({ 'io.kubernetes.container.restartCount': '1' });
      expect(config.string('log_path')).toBe('app/1.log');
      expect([config.bool('stdin'), config.bool('stdin_once'), config.bool('tty')]).toEqual([
        true,
        true,
        false,
      ]);
      expect(config.messages('CDI_devices').map((d) => d.string('name'))).toEqual([
        'vendor.example/gpu=gpu0',
      ]);
      expect(config.enumName('stop_signal')).toBe('SIGNAL_SIGUSR1');
      const device = config.message('devices');
      expect([
        device.string('container_path'),
        device.string('host_path'),
        device.string('permissions'),
      ]).toEqual(['/dev/fuse', '/dev/fuse', 'rwm']);
    });

    it('carries environment values as bytes', () => {
      const envs = wire.createContainerRequest().message('config').messages('envs');
      expect(envs.map((e) => [e.string('key'), e.bytes('value').toString('utf8')])).toEqual([
        ['PATH', '/usr/bin:/bin'],
        ['GREETING', 'grüß dich'],
      ]);
    });

    it('carries mounts: host paths, propagation, ID mappings, image volumes', () => {
      const [data, hosts, models] = wire.createContainerRequest().message('config').messages('mounts');
      expect(data.numbers()).toEqual([1, 2, 4, 5]);
      expect([
        data.string('container_path'),
        data.bool('selinux_relabel'),
        data.enumName('propagation'),
      ]).toEqual(['/data', true, 'PROPAGATION_HOST_TO_CONTAINER']);
      expect(data.string('host_path')).toBe(
        `/var/lib/kubelet/pods/${POD_UID}/volumes/kubernetes.io~empty-dir/data`,
      );
      expect(hosts.numbers()).toEqual([1, 2, 3]);
      expect(hosts.bool('readonly')).toBe(true);
      expect(hosts.enumName('propagation')).toBe('PROPAGATION_PRIVATE');
      expect(models.numbers()).toEqual([1, 3, 6, 8, 9, 10, 11, 11]);
      const mapping = models.message('uidMappings');
      expect([mapping.varint('host_id'), mapping.varint('container_id'), mapping.varint('length')]).toEqual([
        100000n,
        0n,
        65536n,
      ]);
      expect(models.bool('recursive_read_only')).toBe(true);
      expect(models.message('image').string('image')).toBe(IMAGE_ID);
      expect(models.string('image_sub_path')).toBe('v2');
      expect(models.strings('mount_options')).toEqual(['noexec', 'nosuid']);
    });

    it('carries Linux resources, 64-bit and negative values included', () => {
      const resources = wire.createContainerRequest().message('config').message('linux').message('resources');
      expect(resources.numbers()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(
        ['cpu_period', 'cpu_quota', 'cpu_shares', 'memory_limit_in_bytes', 'oom_score_adj'].map((f) =>
          resources.signed(f),
        ),
      ).toEqual([100000n, 50000n, 512n, 268435456n, -997n]);
      expect([resources.string('cpuset_cpus'), resources.string('cpuset_mems')]).toEqual(['0-1', '0']);
      const hugepages = resources.message('hugepage_limits');
      expect([hugepages.string('page_size'), hugepages.varint('limit')]).toEqual(['2MB', 1073741824n]);
      expect(resources.stringMap('unified')).toEqual({ 'memory.high': '201326592' });
      expect(resources.signed('memory_swap_limit_in_bytes')).toBe(9223372036854775807n);
    });

    it('carries the container security context', () => {
      const security = wire
        .createContainerRequest()
        .message('config')
        .message('linux')
        .message('security_context');
      expect(security.numbers()).toEqual([1, 5, 11, 12, 13, 13, 14, 15]);
      const capabilities = security.message('capabilities');
      expect([capabilities.strings('add_capabilities'), capabilities.strings('drop_capabilities')]).toEqual([
        ['NET_BIND_SERVICE'],
        ['ALL'],
      ]);
      expect([
        security.message('run_as_user').signed('value'),
        security.message('run_as_group').signed('value'),
      ]).toEqual([1000n, 1000n]);
      expect(security.bool('no_new_privs')).toBe(true);
      expect([security.strings('masked_paths'), security.strings('readonly_paths')]).toEqual([
        ['/proc/kcore', '/proc/keys'],
        ['/proc/sys'],
      ]);
      expect(security.message('seccomp').enumName('profile_type')).toBe('RuntimeDefault');
    });
  });

  describe('VersionResponse', () => {
    it('carries version, runtime name, runtime version and API version as 1-4', () => {
      const version = wire.versionResponse();
      expect(version.numbers()).toEqual([1, 2, 3, 4]);
      expect(
        ['version', 'runtime_name', 'runtime_version', 'runtime_api_version'].map((f) => version.string(f)),
      ).toEqual(['0.1.0', 'berth', '0.1.0', 'v1']);
    });
  });

  describe('StatusResponse', () => {
    it('carries the runtime conditions', () => {
      const status = wire.statusResponse();
      expect(status.numbers()).toEqual([1, 2, 3, 3, 4]);
      const conditions = status.message('status').messages('conditions');
      expect(
        conditions.map((c) => ({
          type: c.string('type'),
          status: c.bool('status'),
          reason: c.string('reason'),
          message: c.string('message'),
        })),
      ).toEqual([
        { type: 'RuntimeReady', status: true, reason: '', message: '' },
        {
          type: 'NetworkReady',
          status: false,
          reason: 'NetworkPluginNotReady',
          message: 'no CNI configuration found',
        },
      ]);
      // status was never set: false is the default and is not on the wire at all.
      expect(conditions[1].numbers()).toEqual([1, 3, 4]);
    });

    it('carries info, runtime handlers and features', () => {
      const status = wire.statusResponse();
      expect(status.stringMap('info')).toEqual({ config: '{"cgroupDriver":"cgroupfs"}' });
      const handlers = status.messages('runtime_handlers');
      expect(handlers.map((h) => h.string('name'))).toEqual(['', 'runc']);
      const features = handlers[0].message('features');
      expect([features.bool('recursive_read_only_mounts'), features.bool('user_namespaces')]).toEqual([
        true,
        true,
      ]);
      const runtime = status.message('features');
      expect(runtime.numbers()).toEqual([1, 3]);
      expect([runtime.bool('supplemental_groups_policy'), runtime.bool('mount_options')]).toEqual([
        true,
        true,
      ]);
    });
  });
});

describe('decode(encode(x))', () => {
  it.each([
    ['PodSandboxConfig', podSandboxConfig],
    ['CreateContainerRequest', createContainerRequest],
    ['VersionResponse', versionResponse],
    ['StatusResponse', statusResponse],
  ])('%s round-trips through protobufjs', (type, value) => {
    // With defaults filled in on both sides, so that a default left off the wire compares equal.
    expect(decode(type, encode(type, value))).toEqual(normalize(type, value));
  });

  it('CreateContainerRequest round-trips through our gRPC loader, 64-bit values and bytes intact', () => {
    const method = runtimeService().CreateContainer;
    const decoded = method.requestDeserialize(method.requestSerialize(createContainerRequest));
    expect(decoded.pod_sandbox_id).toBe(createContainerRequest.pod_sandbox_id);
    expect(decoded.config?.envs.map((e) => [e.key, e.value.toString('utf8')])).toEqual([
      ['PATH', '/usr/bin:/bin'],
      ['GREETING', 'grüß dich'],
    ]);
    expect(decoded.config?.linux?.resources).toMatchObject(containerConfig.linux!.resources!);
    expect(decoded.config?.stop_signal).toBe('SIGNAL_SIGUSR1');
    expect(decoded.sandbox_config?.port_mappings.map((p) => p.protocol)).toEqual(['TCP', 'UDP', 'SCTP']);
  });
});

describe('the wire reader itself', () => {
  it('rejects truncated and malformed input', () => {
    expect(() => readRecords(Uint8Array.from([0x0a, 0x05, 0x61]))).toThrow(/past the end/);
    expect(() => readRecords(Uint8Array.from([0x08, 0x80]))).toThrow(/truncated varint/);
    expect(() => readRecords(Uint8Array.from([0x0b]))).toThrow(/wire type 3/);
  });

  it('rejects a record whose number is not a field of the message', () => {
    // Field 10 of PodSandboxConfig does not exist upstream.
    expect(() => new WireMessage('PodSandboxConfig', Uint8Array.from([0x52, 0x00]))).toThrow(/no field 10/);
  });

  it('rejects a record whose wire type does not match the field type', () => {
    // hostname = 2 is a string (LEN); a VARINT under number 2 must fail.
    expect(() => new WireMessage('PodSandboxConfig', Uint8Array.from([0x10, 0x01]))).toThrow();
  });
});
