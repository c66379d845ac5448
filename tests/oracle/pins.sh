# Versions the oracle step (tests/oracle/run) installs, pinned exactly. Sourced by `run`;
# docs/oracle.md says how to move each one. Module zips come from the Go module proxy
# and are checked against the sha256 written here (a proxy cannot swap them).

# Tools built with `go install` (verified by the Go checksum database).
HELM_MODULE=helm.sh/helm/v3/cmd/helm
HELM_VERSION=v3.22.0
KUSTOMIZE_MODULE=sigs.k8s.io/kustomize/kustomize/v5
KUSTOMIZE_VERSION=v5.8.2
# istioctl and crdcheck are built from tests/oracle/go, whose go.mod/go.sum pin istioctl's
# source (istio.io/istio) and every dependency.

# The Istio releases meshc's examples and fixtures target, each with the istio.io/istio
# module version its charts are taken from, that zip's sha256, and the image hub the
# published charts of that release name. A release whose own commit the proxy does not
# serve names the nearest served commit, and docs/oracle.md says how its charts differ.
# Hubs: the 1.28 charts' own comment ("Releases are published to docker hub under 'istio'
# project"); 1.30 releases are published to registry.istio.io/release (Istio blog, "An
# Update on Our Container Registry Migration"; the published 1.30 charts name it).
ISTIO_RELEASES=(
  # release  module version                        sha256 of the module zip                                          hub
  "1.28.2    v0.0.0-20251217200826-ab413ac6c1f4    a209d0f753a2638e7937fdc5fd7706d469dd6b62abf2f6bdfe7e9709815e0a7f  docker.io/istio"
  "1.30.4    v0.0.0-20260423205519-b01690e6db7d    ff19a949fd29084afa75a90fbf38d47d45d85a59b40300d2b32583003f2f48a2  registry.istio.io/release"
)

# CustomResourceDefinitions of the controllers that read meshc's custom resources, from
# their Go modules: module@version, zip sha256, CRD files inside the module.
CRD_MODULES=(
  "github.com/argoproj/argo-cd/v3@v3.6.1 f7fa21a39dae04e030aea81151ccaca0e7541fcff6cca0dd018671189cdf1de5 manifests/crds/application-crd.yaml"
  "github.com/fluxcd/kustomize-controller@v1.10.1 8725ec07d6931eb1bb860de3a8544277b4c133a2ecde63166891e4305e173616 config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml"
  "github.com/fluxcd/source-controller@v1.10.1 e4e4e9dedf8842f673b569beeb083d6e852de8af0fd6c399fe10f94ddc798d92 config/crd/bases/source.toolkit.fluxcd.io_helmrepositories.yaml"
  "github.com/fluxcd/helm-controller@v1.6.1 dd53877d6133d216fdb699880e06f21434a67649b189421ec4a8aa9232eb77b1 config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml"
  "github.com/external-secrets/external-secrets@v0.16.2 4294f4ce075b5724d98beb34fa2472298a1b47c50363ac34b5b0f14949e98b18 config/crds/bases/external-secrets.io_externalsecrets.yaml config/crds/bases/external-secrets.io_pushsecrets.yaml"
  "github.com/cert-manager/cert-manager@v1.21.2 cfaf1fb53965a5fd60490861387b7dbf34cd40987c878a4f1e247f836eef4782 deploy/crds/cert-manager.io_certificates.yaml"
)
