//! The diagnostic code catalogue. A code, once published, keeps its meaning: codes are
//! never renumbered; a retired code stays in the table, marked so. `docs/diagnostics.md`
//! documents each one and a test keeps the two in step.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! catalogue {
    ($( $variant:ident = $code:literal, $slug:literal, $sev:ident, $summary:literal; )*) => {
        /// Every diagnostic meshc can report.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable identifier, e.g. `E0103`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// A short kebab-case name, e.g. `unknown-reference`.
            pub fn slug(self) -> &'static str {
                match self { $( Code::$variant => $slug, )* }
            }

            /// The severity the code has unless the user turns warnings into errors.
            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$sev, )* }
            }

            /// One line saying what the code is about.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }

            /// The long explanation (Markdown) that `meshc explain` prints: what is wrong,
            /// why Istio cares, how to fix it, and an example. A code without its file in
            /// `src/diag/explanations/` does not compile.
            pub fn explanation(self) -> &'static str {
                match self { $( Code::$variant => include_str!(concat!("explanations/", $code, ".md")), )* }
            }

            pub fn parse(s: &str) -> Option<Code> {
                match s { $( $code => Some(Code::$variant), )* _ => None }
            }
        }
    };
}

catalogue! {
    // Syntax and the shape of nodes (lowering).
    KdlSyntax = "E0001", "kdl-syntax", Error, "the file is not valid KDL v2";
    KdlV1 = "E0002", "kdl-v1", Error, "the file is written in KDL v1, meshc reads KDL v2";
    UnknownNode = "E0003", "unknown-node", Error, "a node meshc does not know in this place";
    UnknownProperty = "E0004", "unknown-property", Error, "a property the node does not take";
    MissingValue = "E0005", "missing-value", Error, "a required argument, property or child is missing";
    WrongType = "E0006", "wrong-type", Error, "a value of the wrong type (string, number, boolean)";
    InvalidValue = "E0007", "invalid-value", Error, "a value outside what the setting accepts";
    UnexpectedArgument = "E0008", "unexpected-argument", Error, "more arguments than the node takes";
    DuplicateSetting = "E0009", "duplicate-setting", Error, "a setting given twice";
    // Names and references.
    InvalidName = "E0101", "invalid-name", Error, "a name that is not a DNS-1123 label";
    DuplicateName = "E0102", "duplicate-name", Error, "two things of one kind share a name";
    UnknownReference = "E0103", "unknown-reference", Error, "a reference to something not declared";
    AmbiguousReference = "E0104", "ambiguous-reference", Error, "a name that fits more than one declaration";
    // The top level.
    MissingIstio = "E0201", "missing-istio", Error, "no `istio version=` node";
    UnsupportedIstioVersion = "E0202", "unsupported-istio-version", Error, "an Istio release meshc cannot target";
    MissingGitops = "E0203", "missing-gitops", Error, "no `gitops` node";
    MissingSecrets = "E0204", "missing-secrets", Error, "credentials are needed but no `secrets` store is declared";
    NoMesh = "E0205", "no-mesh", Error, "the topology declares no mesh";
    NewerIstioVersion = "W0206", "newer-istio-version", Warning, "an Istio release newer than meshc's rules were checked against";
    // Control planes.
    MissingControlPlane = "E0301", "missing-control-plane", Error, "a cluster without a `control-plane`";
    RemoteWithoutPrimary = "E0302", "remote-without-primary", Error, "a remote cluster that names no primary";
    PrimaryNotPrimary = "E0303", "primary-not-primary", Error, "a remote's `primary=` is not a control-plane cluster of its mesh";
    MeshWithoutPrimary = "E0304", "mesh-without-primary", Error, "a mesh with no cluster running a control plane";
    MissingEastWestAddress = "E0305", "missing-east-west-address", Error, "a control plane serves remote clusters but has no east-west address";
    HostnameEastWestAddress = "W0306", "hostname-east-west-address", Warning, "an east-west address that is a hostname, not an IP";
    MissingApiServer = "E0307", "missing-api-server", Error, "a cluster other clusters must read has no API server address";
    ConfigCluster = "E0308", "config-cluster", Error, "an external control plane without exactly one config cluster";
    Ipv6ControlAddress = "E0309", "ipv6-control-address", Error, "an IPv6 control-plane address for remotes, on charts before 1.30 that cannot use it";
    // Networks.
    MissingNetwork = "E0401", "missing-network", Error, "a cluster of a multi-network mesh names no network";
    UnusedNetwork = "W0402", "unused-network", Warning, "a network with no cluster on it";
    // Trust.
    MissingCa = "E0501", "missing-ca", Error, "a mesh of several clusters without a shared root of trust";
    PermissiveMtls = "W0502", "permissive-mtls", Warning, "mutual TLS is permissive, plaintext is accepted";
    DuplicateTrustDomain = "E0503", "duplicate-trust-domain", Error, "two meshes share a trust domain or mesh ID";
    MissingTrustBundle = "E0504", "missing-trust-bundle", Error, "federated meshes do not both publish a trust bundle";
    // Services and traffic.
    WeightsNot100 = "E0601", "weights-not-100", Error, "route weights that do not sum to 100";
    UndeployedVersion = "E0602", "undeployed-version", Error, "a route sends traffic to a version no cluster runs";
    FailoverWithoutOutlierDetection = "E0603", "failover-without-outlier-detection", Error, "locality failover without outlier detection";
    FailoverRegion = "E0604", "failover-region", Error, "a failover region where the service does not run";
    FailoverSameRegion = "E0605", "failover-same-region", Error, "failover from a region to itself";
    DuplicatePort = "E0606", "duplicate-port", Error, "two ports of a service share a name or number";
    UnknownProtocol = "E0607", "unknown-protocol", Error, "a port name that does not start with a protocol Istio knows";
    ClusterLocalPolicy = "E0608", "cluster-local-policy", Error, "a cluster-local service that is exported or fails over";
    ExportToOwnMesh = "E0609", "export-to-own-mesh", Error, "a service exported to its own mesh";
    DeployOutsideMesh = "E0610", "deploy-outside-mesh", Error, "a service placed in a cluster of another mesh";
    WorkloadOnExternal = "E0611", "workload-on-external", Error, "a workload or ingress on an external control-plane cluster";
    ServiceWithoutDeploy = "W0612", "service-without-deploy", Warning, "a service that runs nowhere";
    ExportWithoutGateway = "E0613", "export-without-gateway", Error, "an exported service whose clusters have no east-west address";
    RouteToUnplacedCluster = "E0614", "route-to-unplaced-cluster", Error, "a route sends traffic to a cluster that does not run the service";
    ImportWithoutDnsProxy = "E0615", "import-without-dns-proxy", Error, "a mesh importing a service without the DNS proxying that resolves its name";
    // Version gates and known Istio bugs of the target release.
    StaleRemoteCredentials = "W0701", "stale-remote-credentials", Warning, "the target Istio release has known bugs when remote-secret credentials rotate";
    // User extension templates.
    TemplateError = "E0801", "template-error", Error, "a template that does not render (syntax error, undefined variable)";
    TemplateOutput = "E0802", "template-output", Error, "a template whose output is not valid Kubernetes objects";
    MissingTemplate = "E0803", "missing-template", Error, "a template file that cannot be read";
    TemplatePrivileged = "E0804", "template-privileged", Error, "a template writes cluster-scoped or RBAC objects without `privileged=#true`";
    // The rollout.
    RolloutCycle = "E0901", "rollout-cycle", Error, "units that wait for each other: a first sync would never converge";
    // Credentials.
    LiteralCredential = "E1001", "literal-credential", Error, "a credential written into the topology or a template's output";
}
