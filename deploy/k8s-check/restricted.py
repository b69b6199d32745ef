"""Checks Kubernetes manifests against the Pod Security Standards'
"restricted" profile (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
as the PodSecurity admission controller would at `enforce: restricted`,
without a cluster.

Usage: restricted.py FILE...   Prints one line per pod template and every
violation; exits 1 if there is any.
"""

import sys

import yaml

# Workload kinds and where their pod spec lives.
POD_SPEC_PATHS = {
    "Pod": ["spec"],
    "Deployment": ["spec", "template", "spec"],
    "StatefulSet": ["spec", "template", "spec"],
    "DaemonSet": ["spec", "template", "spec"],
    "ReplicaSet": ["spec", "template", "spec"],
    "Job": ["spec", "template", "spec"],
    "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}
ALLOWED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {None, "", "container_t", "container_init_t", "container_kvm_t",
                 "container_engine_t"}


def dig(node, path):
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def violations(spec):
    """Every rule of the restricted profile (which includes baseline) that
    the pod spec breaks."""
    found = []
    pod_sc = spec.get("securityContext") or {}
    containers = [
        (kind, c)
        for kind in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(kind) or []
    ]
    if not containers:
        found.append("no containers")
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            found.append(f"{field} is true")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            found.append(f"volume {volume.get('name')} is {sorted(kinds)}")
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(f"sysctl {sysctl.get('name')} is not a safe one")

    def effective(sc, key):
        return sc.get(key) if key in sc else pod_sc.get(key)

    for kind, c in containers:
        name = f"{kind[:-1]} {c.get('name')}"
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            found.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        if effective(sc, "runAsNonRoot") is not True:
            found.append(f"{name}: runAsNonRoot is not true")
        if effective(sc, "runAsUser") == 0:
            found.append(f"{name}: runAsUser is 0")
        seccomp = dig(sc, ["seccompProfile", "type"]) or dig(pod_sc, ["seccompProfile", "type"])
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile is {seccomp!r}, not RuntimeDefault or Localhost")
        apparmor = dig(sc, ["appArmorProfile", "type"]) or dig(pod_sc, ["appArmorProfile", "type"])
        if apparmor == "Unconfined":
            found.append(f"{name}: appArmorProfile is Unconfined")
        selinux = sc.get("seLinuxOptions") or pod_sc.get("seLinuxOptions") or {}
        if selinux.get("type") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
            found.append(f"{name}: seLinuxOptions {selinux}")
        if sc.get("procMount", "Default") != "Default":
            found.append(f"{name}: procMount {sc.get('procMount')}")
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.append(f"{name}: capabilities do not drop ALL")
        added = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            found.append(f"{name}: adds capabilities {sorted(added)}")
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                found.append(f"{name}: hostPort {port['hostPort']}")
    return found


def main(files):
    failed = False
    checked = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            documents = [d for d in yaml.safe_load_all(f) if d]
        for doc in documents:
            where = POD_SPEC_PATHS.get(doc.get("kind"))
            if where is None:
                continue
            spec = dig(doc, where) or {}
            checked += 1
            found = violations(spec)
            label = f"{path}: {doc['kind']}/{dig(doc, ['metadata', 'name'])}"
            if found:
                failed = True
                print(f"FAIL {label} breaks the restricted profile:")
                for violation in found:
                    print(f"  - {violation}")
            else:
                print(f"PASS {label} meets the restricted profile")
    if checked == 0:
        print("FAIL no pod templates found")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
