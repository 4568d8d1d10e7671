//! Pods: each unit's own network namespace, workload filesystem and Pebble daemons.
//!
//! With [`Isolation::Namespaces`] (root only), a unit's pod is a small process that holds a new
//! mount and network namespace and a root of its own: the host's root seen through an overlay
//! whose writable layer is the unit's (under the model directory), with `/proc`, `/sys`, `/dev`,
//! the model directory and the lab's binaries bound in, a private `/run`, and
//! `/charm/containers/<name>/pebble.socket` where Juju puts them. The unit gets its own address on
//! a per-model bridge, so several units can all listen on the same port. Pebble (the double, or a real one) runs inside
//! the pod, one per container. Hooks run in the pod too: in its network namespace, as a charm
//! container shares its pod's network, and in its mount namespace, so that whatever a charm
//! writes outside the model directory stays in the unit's overlay instead of reaching the host.
//! With [`Isolation::None`] everything runs on the host.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::sys;
use crate::error::{LabError, Result};

/// How units are kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Nothing: workloads share the host's filesystem and network (one unit per port).
    None,
    /// Mount and network namespaces per unit (needs root).
    Namespaces,
}

impl Isolation {
    /// Namespaces when running as root, otherwise none.
    pub fn best_available() -> Isolation {
        if sys::is_root() {
            Isolation::Namespaces
        } else {
            Isolation::None
        }
    }
}

/// The model's bridge and address range.
#[derive(Debug)]
pub struct Network {
    bridge: String,
    prefix: [u8; 3],
    tag: String,
}

impl Network {
    /// Create the bridge for a model (name and subnet derived from `seed`, the model UUID).
    pub fn create(seed: &str) -> Result<Network> {
        let hash = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        let tag = format!("{:06x}", hash & 0xff_ffff);
        let taken = String::from_utf8_lossy(&sys::ip(&["-4", "-o", "addr"])?.stdout).into_owned();
        // 10.64.0.0/10 holds 16384 /24s; walk from the hash to the first one nobody uses.
        let mut slot = (hash >> 24) as u32 % 16_384;
        let prefix = loop {
            let n = 64 * 256 * 256 + slot * 256;
            let p = [10u8, (n >> 16) as u8, (n >> 8) as u8];
            if !taken.contains(&format!(" {}.{}.{}.", p[0], p[1], p[2])) {
                break p;
            }
            slot = (slot + 1) % 16_384;
        };
        let net = Network {
            bridge: format!("lab{tag}br"),
            prefix,
            tag,
        };
        sys::ip(&["link", "add", &net.bridge, "type", "bridge"])?;
        let gw = format!("{}/24", net.gateway());
        sys::ip(&["addr", "add", &gw, "dev", &net.bridge])?;
        sys::ip(&["link", "set", &net.bridge, "up"])?;
        Ok(net)
    }

    /// The host's address on the bridge (the pods' default route).
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.prefix[0], self.prefix[1], self.prefix[2], 1)
    }

    /// The address of the pod with this index (0-based, < 240).
    pub fn address(&self, index: u32) -> Ipv4Addr {
        Ipv4Addr::new(
            self.prefix[0],
            self.prefix[1],
            self.prefix[2],
            10 + (index % 240) as u8,
        )
    }

    /// Remove the bridge.
    pub fn destroy(&self) {
        let _ = sys::ip(&["link", "del", &self.bridge]);
    }
}

/// A running Pebble for one container.
#[derive(Debug)]
struct PebbleProcess {
    child: Child,
}

/// One unit's pod.
#[derive(Debug)]
pub struct Pod {
    /// The unit's directory in the model.
    pub dir: PathBuf,
    /// The unit's address.
    pub address: String,
    holder: Option<Child>,
    /// PID whose namespaces hooks and Pebble enter (None without isolation).
    pid: Option<u32>,
    containers: BTreeMap<String, PebbleProcess>,
}

impl Pod {
    /// Start a pod for a unit whose files live in `dir`. `shared` are host paths the pod must
    /// see and write through to the host (the model directory, the lab's binaries);
    /// `containers` get their Pebble socket linked at `/charm/containers/<name>/pebble.socket`.
    pub fn start(
        dir: &Path,
        isolation: Isolation,
        network: Option<&Network>,
        index: u32,
        shared: &[PathBuf],
        containers: &[String],
    ) -> Result<Pod> {
        std::fs::create_dir_all(dir)
            .map_err(LabError::io(format!("creating {}", dir.display())))?;
        let (Isolation::Namespaces, Some(network)) = (isolation, network) else {
            return Ok(Pod {
                dir: dir.to_path_buf(),
                address: "127.0.0.1".into(),
                holder: None,
                pid: None,
                containers: BTreeMap::new(),
            });
        };
        let script = pod_script(dir, shared, containers)?;
        let mut holder = sys::command("unshare")
            .args([
                "--mount",
                "--net",
                "--fork",
                "--kill-child",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                &script,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(LabError::io("starting the pod (unshare)"))?;
        let stdout = holder.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(LabError::io("waiting for the pod"))?;
        let Some(pid) = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse::<u32>().ok())
        else {
            let _ = holder.kill();
            let out = holder
                .wait_with_output()
                .map_err(LabError::io("pod failed"))?;
            return Err(LabError::Refused(format!(
                "the pod did not start: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        };
        let address = network.address(index);
        let host_veth = format!("lab{}{index:03}", network.tag);
        let ns = pid.to_string();
        sys::ip(&[
            "link", "add", &host_veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ])?;
        sys::ip(&["link", "set", &host_veth, "master", &network.bridge, "up"])?;
        sys::ip_in(
            pid,
            &["addr", "add", &format!("{address}/24"), "dev", "eth0"],
        )?;
        sys::ip_in(pid, &["link", "set", "eth0", "up"])?;
        sys::ip_in(
            pid,
            &[
                "route",
                "add",
                "default",
                "via",
                &network.gateway().to_string(),
            ],
        )?;
        Ok(Pod {
            dir: dir.to_path_buf(),
            address: address.to_string(),
            holder: Some(holder),
            pid: Some(pid),
            containers: BTreeMap::new(),
        })
    }

    /// Where container `name`'s Pebble socket is (`<dir>/containers/<name>/pebble.socket`, the
    /// layout of Juju's `/charm/containers`).
    pub fn socket(&self, name: &str) -> PathBuf {
        self.containers_dir().join(name).join("pebble.socket")
    }

    /// The directory to give the charm as its `/charm/containers`.
    pub fn containers_dir(&self) -> PathBuf {
        self.dir.join("containers")
    }

    /// Start Pebble for container `name` inside the pod and wait until it answers.
    pub fn start_container(&mut self, name: &str, pebble_bin: &Path) -> Result<PathBuf> {
        let cdir = self.containers_dir().join(name);
        let state = cdir.join("pebble");
        std::fs::create_dir_all(&state).map_err(LabError::io("creating the Pebble dir"))?;
        let socket = self.socket(name);
        let _ = std::fs::remove_file(&socket);
        let _ = std::fs::remove_file(state.join(".pebble.socket"));
        std::os::unix::fs::symlink(state.join(".pebble.socket"), &socket)
            .map_err(LabError::io("linking the Pebble socket"))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(cdir.join("pebble.log"))
            .map_err(LabError::io("opening the Pebble log"))?;
        let mut command = self.wrap(pebble_bin, None);
        command
            .args(["run", "--create-dirs"])
            .env("PEBBLE", &state)
            .stdout(log.try_clone().map_err(LabError::io("Pebble log"))?)
            .stderr(log);
        let child = command.spawn().map_err(LabError::io("starting Pebble"))?;
        self.containers
            .insert(name.to_string(), PebbleProcess { child });
        let deadline = Instant::now() + Duration::from_secs(15);
        while !state.join(".pebble.socket").exists() {
            if Instant::now() > deadline {
                return Err(LabError::Refused(format!(
                    "Pebble for container {name} did not create its socket within 15 s (see {})",
                    cdir.join("pebble.log").display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(socket)
    }

    /// The PID holding the pod's namespaces (None without isolation).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Names of the containers whose Pebble runs.
    pub fn containers(&self) -> Vec<String> {
        self.containers.keys().cloned().collect()
    }

    /// Kill every process left in the pod (what a service forked off and its supervisor did not
    /// stop, such as a postmaster whose Patroni was killed), as the end of a container does.
    /// The namespace holder itself is spared.
    pub fn kill_leftovers(&self) {
        let Some(pid) = self.pid else { return };
        let Ok(ns) = std::fs::read_link(format!("/proc/{pid}/ns/mnt")) else {
            return;
        };
        let holders: Vec<u32> = std::iter::once(pid)
            .chain(self.holder.as_ref().map(Child::id))
            .collect();
        // Repeat until a pass finds no one: a process may fork between the listing and the kill.
        for _ in 0..10 {
            let mut found = false;
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let Some(other) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<u32>().ok())
                else {
                    continue;
                };
                if holders.contains(&other) {
                    continue;
                }
                if std::fs::read_link(format!("/proc/{other}/ns/mnt"))
                    .ok()
                    .as_ref()
                    == Some(&ns)
                {
                    sys::signal(other, 9);
                    found = true;
                }
            }
            if !found {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop every container's Pebble (which stops its services), as a pod shutdown does.
    pub fn stop_containers(&mut self) {
        for (_, mut p) in std::mem::take(&mut self.containers) {
            sys::signal(p.child.id(), 15);
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match p.child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = p.child.kill();
                        let _ = p.child.wait();
                        break;
                    }
                }
            }
        }
    }

    /// A command for `program` that runs inside the pod (its network, mounts and root), in
    /// `cwd` (a path that is the same inside the pod and on the host, e.g. in the model dir).
    pub fn wrap(&self, program: &Path, cwd: Option<&Path>) -> Command {
        match self.pid {
            None => {
                let mut c = sys::command(program);
                if let Some(cwd) = cwd {
                    c.current_dir(cwd);
                }
                c
            }
            Some(pid) => {
                let mut c = sys::command("nsenter");
                c.arg("-t")
                    .arg(pid.to_string())
                    .args(["-m", "-n", "-r"])
                    .arg(format!(
                        "--wdns={}",
                        cwd.unwrap_or(Path::new("/")).display()
                    ))
                    .arg("--")
                    .arg(program);
                c
            }
        }
    }

    /// Tear the pod down: Pebbles, whatever they left running, then the namespace holder.
    pub fn destroy(&mut self) {
        self.stop_containers();
        self.kill_leftovers();
        if let Some(mut holder) = self.holder.take() {
            let _ = holder.kill();
            let _ = holder.wait();
        }
        if let Some(pid) = self.pid.take()
            && sys::alive(pid)
        {
            sys::signal(pid, 9);
        }
    }
}

/// The shell script that builds the pod's root and holds its namespaces: an overlay of the
/// host's root with a unit-private upper layer, the kernel filesystems and the shared paths
/// bound in, a private `/run` and `/charm`, then `chroot` into it.
fn pod_script(dir: &Path, shared: &[PathBuf], containers: &[String]) -> Result<String> {
    let root = dir.join("root");
    let (upper, work, merged) = (root.join("upper"), root.join("work"), root.join("merged"));
    for p in [&upper, &work, &merged] {
        std::fs::create_dir_all(p).map_err(LabError::io("creating the pod's root"))?;
    }
    let q = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let m = q(&merged);
    let mut s = String::from("set -e\n");
    s.push_str(&format!(
        "mount -t overlay lab-root -o lowerdir=/,upperdir={},workdir={} {m}\n",
        upper.display(),
        work.display()
    ));
    for kernel in ["/proc", "/sys", "/dev"] {
        s.push_str(&format!("mount --rbind {kernel} {m}{kernel}\n"));
    }
    s.push_str(&format!("mount -t tmpfs lab-run {m}/run\n"));
    for path in shared {
        let inside = merged.join(path.strip_prefix("/").unwrap_or(path));
        s.push_str(&format!(
            "mkdir -p {inside} && mount --bind {host} {inside}\n",
            inside = q(&inside),
            host = q(path)
        ));
    }
    s.push_str(&format!(
        "mkdir -p {m}/charm && mount -t tmpfs lab-charm {m}/charm\n"
    ));
    for c in containers {
        let target = dir
            .join("containers")
            .join(c)
            .join("pebble")
            .join(".pebble.socket");
        s.push_str(&format!(
            "mkdir -p {m}/charm/containers/{c} && ln -s {} {m}/charm/containers/{c}/pebble.socket\n",
            q(&target)
        ));
    }
    s.push_str(&format!(
        "ip link set lo up\necho \"ready $$\"\nexec chroot {m} sleep infinity\n"
    ));
    Ok(s)
}

impl Drop for Pod {
    fn drop(&mut self) {
        self.destroy();
    }
}
