// Package driver installs the magnum-capi-helm Magnum driver beside the
// distro's Python without pip, proves Magnum can load it, and can switch
// back to the previous version in one rename.
//
// Why not pip: pip is not part of Python on Debian and Ubuntu, PEP 668
// makes a plain `pip install` refuse there, and a resolving install can pull
// Magnum and the oslo stack from an index over the distro packages and
// break every OpenStack service on the unit. A pure-Python wheel needs no
// installer: it is a zip whose RECORD lists every file's digest, and the
// driver's real dependencies all come with python3-magnum.
//
// On the unit, with the charm choosing root (for instance
// /opt/magnum-capi-graft/driver):
//
//	<root>/magnum-capi-helm-<version>-<12 hex of sha256>/   one dir per version, root:root, 0755/0644
//	    magnum_capi_helm/...
//	    magnum_capi_helm-<version>.dist-info/{METADATA,RECORD,WHEEL,entry_points.txt}
//	<root>/.staging-*, <root>/.old-*                       only during Install (Prune removes leftovers)
//	/usr/local/lib/python3.X/dist-packages/magnum-capi-graft.pth
//	    one absolute path: the active version directory
//
// Python's site module reads every .pth file in a site directory at start-up
// and puts the directories they name on sys.path right after that site
// directory, so the active version comes before /usr/lib/python3/dist-packages
// and importlib.metadata (Magnum's driver lookup, stevedore, uwsgi's embedded
// Python) finds its entry points. The /usr/local site directory belongs to
// no package, so no apt operation removes the file; a Python minor upgrade
// moves the site directory, and Discover then names the new one.
//
// The life of a version: Inspect the resource; CheckRequirements of
// Magnum's interpreter (Discover); Install (staged, verified, renamed into
// place); Activate; Prove as user magnum, which imports the driver in a
// fresh interpreter; on failure Rollback to the previous directory; Prune
// all but the active and previous directories. VerifyInstalled re-checks
// a directory's digests; Fingerprint is the cheap stat-based check for a
// hook that finds nothing to do.
package driver
