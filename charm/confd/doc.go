// Package confd owns /etc/magnum/magnum.conf.d/99-capi.conf: the catalogue of
// the charm options that become magnum-capi-helm (and Magnum) settings, their
// validation, and the rendering of the file with gopkg.in/ini.v1.
//
// The catalogue is the single source of truth. charmcraft.yaml is checked
// against it by a test, Validate and Render both read it, and an option that
// the selected driver release does not know is refused by name rather than
// written and silently ignored by oslo.config.
//
// # Where the option lists come from
//
// The driver registers its options in magnum_capi_helm/conf.py. The lists
// below were read from the real released code, not from documentation:
//
//   - 1.2.0: conf.py in Debian's python3-magnum-capi-helm 1.2.0-3 (trixie),
//     sha256 4924c547246fdaa7913e009bc84f582344d69c84824aa966b43a5d22bf216d63.
//     The same 16 [capi_helm] options are in openstack/magnum-capi-helm at
//     commit fd6c6be84840fff504fd54f5fdfca7296abe9b7d.
//     csi_cinder_volume_binding_mode is registered (default Immediate, no
//     choices) but driver.py never reads it.
//   - 1.2.1 and 1.3.0: no released artefact was available to read, so these
//     follow the repository history. stackhpc/magnum-capi-helm commit
//     d967cc815832267dd3470cde84ae2217b1a93b27 has the same 16 options, with
//     csi_cinder_volume_binding_mode defaulting to WaitForFirstConsumer,
//     restricted to WaitForFirstConsumer/Immediate and, says its release
//     note (releasenotes/notes/cinder-volume-binding-mode-fc24de202303975c.yaml),
//     used at last.
//     The options that come next (api_resources,
//     k8s_control_plane_resource_conditions, in
//     openstack/magnum-capi-helm commit
//     ccf4ebbb48b9b5f9568a37ce73977eaa63873421) are announced in the 1.4.0
//     prelude (stackhpc/magnum-capi-helm
//     releasenotes/notes/prelude-1.4.0-1093690774fa034a.yaml), so 1.2.1 and
//     1.3.0 know the 1.2.0 names and types.
//   - 1.4.0: conf.py in Debian's python3-magnum-capi-helm 1.4.0-1 (sid),
//     sha256 3f43e6a8d3051ce595b0d552d1f73bfd6ae1e89a6da4626ec4c22c7c5c9167e4.
//     It adds api_resources and k8s_control_plane_resource_conditions to
//     [capi_helm] and a new group [capi_helm_cluster_labels]. Five
//     csi_cinder_* options move into that group; the old [capi_helm]
//     spelling is still read, with a deprecation warning
//     (releasenotes/notes/cluster-label-registry-38de700e433df68a.yaml).
//
// [drivers] disabled_drivers is Magnum's own option, present in every Magnum
// release the charm supports, so it does not depend on the driver release.
//
// # What the rendered file contains
//
// Charm options have no default in charmcraft.yaml. An option that is unset
// (absent or null in config-get) leaves the driver's own default in force and
// its key is not written: the charm never restates a default, so a driver
// upgrade that changes one is not masked by a stale copy. The empty string
// also means unset, except for helm-chart-repo, where the driver gives the
// empty string a meaning (no --repo, for oci:// charts).
//
// [capi_helm] kubeconfig_file is always written, with the path the caller
// passes in: the driver only gives helm --kubeconfig when the option is set.
//
// `enabled_drivers` is never written: it is not a Magnum option.
package confd
