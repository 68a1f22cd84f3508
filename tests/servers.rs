//! Servers of a test's own, from the installed binaries, on free ports, so that a test can
//! stop and restart them without touching the shared ones.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use uuid::Uuid;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, up: bool) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() == up {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("port {port} did not go {}", if up { "up" } else { "down" });
}

fn temp_dir(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bifrost-{kind}-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A Redis server of the test's own, keeping nothing on disk (so a restart loses every
/// stream, as on the project's machines).
pub struct OwnRedis {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

impl OwnRedis {
    /// Starts one on a free port.
    pub fn start() -> OwnRedis {
        let mut redis = OwnRedis {
            child: None,
            port: free_port(),
            dir: temp_dir("redis"),
        };
        redis.restart();
        redis
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port (after [`stop`](Self::stop)).
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is required for this test");
        self.child = Some(child);
        wait_for_port(self.port, true);
    }

    /// Kills it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        wait_for_port(self.port, false);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of the test's own: masters, each with replicas, keeping nothing on disk,
/// quick to fail over (`cluster-node-timeout` 1,000 ms), so that a test can kill a master.
pub struct OwnRedisCluster {
    nodes: Vec<(u16, Option<Child>)>,
    dir: PathBuf,
}

/// A free port whose cluster bus port (port + 10000) is free too, both below the kernel's
/// range for outgoing connections (32768 and up), where a port free now may be taken by a
/// connection before the node binds it.
fn free_cluster_port(taken: &[u16]) -> u16 {
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    loop {
        let port = 11_000 + (Uuid::new_v4().as_u128() % 11_000) as u16;
        if !taken.contains(&port) && free(port) && free(port + 10_000) {
            return port;
        }
    }
}

impl OwnRedisCluster {
    /// Starts `masters` masters with `replicas` replicas each and waits until the cluster
    /// is up (`cluster_state:ok` on every node).
    pub fn start(masters: usize, replicas: usize) -> OwnRedisCluster {
        let dir = temp_dir("redis-cluster");
        let mut nodes: Vec<(u16, Option<Child>)> = Vec::new();
        for _ in 0..masters * (1 + replicas) {
            let taken: Vec<u16> = nodes.iter().map(|(p, _)| *p).collect();
            let port = free_cluster_port(&taken);
            let node_dir = dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir).unwrap();
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
                // A replica may take over however long ago it heard from its master: the
                // test measures what that loses.
                .args(["--cluster-replica-validity-factor", "0"])
                .arg("--dir")
                .arg(&node_dir)
                .arg("--logfile")
                .arg(node_dir.join("redis.log"))
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server is required for this test");
            nodes.push((port, Some(child)));
        }
        for (port, _) in &nodes {
            wait_for_port(*port, true);
        }
        let cluster = OwnRedisCluster { nodes, dir };
        let mut create: Vec<String> = vec!["create".into()];
        create.extend(cluster.nodes.iter().map(|(p, _)| format!("127.0.0.1:{p}")));
        create.extend(["--cluster-replicas".into(), replicas.to_string()]);
        Self::cluster_command(&create);
        cluster.wait_until_ok();
        // A replica can take over only once it has synchronised with its master.
        for (port, _) in &cluster.nodes {
            for tries in 0.. {
                let info = Self::cli(*port, &["info", "replication"]).unwrap_or_default();
                if info.contains("role:master") || info.contains("master_link_status:up") {
                    break;
                }
                assert!(
                    tries < 300,
                    "the replica on {port} never synchronised: {info}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        cluster
    }

    /// Its URL, naming every node.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|(p, _)| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    /// `redis-cli --cluster ARGS --cluster-yes`, which must succeed.
    fn cluster_command(args: &[String]) {
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .args(args)
            .arg("--cluster-yes")
            .output()
            .expect("redis-cli is required for this test");
        assert!(
            out.status.success(),
            "redis-cli --cluster {}: {}",
            args[0],
            String::from_utf8_lossy(&out.stdout)
        );
    }

    fn cli(port: u16, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Waits until every live node says `cluster_state:ok` and every slot has a master
    /// that is up (after a failover: a replica promoted); panics after 30 s.
    pub fn wait_until_ok(&self) {
        for _ in 0..300 {
            let ok = self
                .nodes
                .iter()
                .filter(|(_, c)| c.is_some())
                .all(|(p, _)| {
                    Self::cli(*p, &["cluster", "info"])
                        .is_some_and(|info| info.contains("cluster_state:ok"))
                });
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the Redis Cluster is not ok after 30 s");
    }

    /// The port of the master serving `key`'s slot now.
    pub fn master_of(&self, key: &str) -> u16 {
        let (port, _) = self
            .nodes
            .iter()
            .find(|(_, c)| c.is_some())
            .expect("a live node");
        let slot: u16 = Self::cli(*port, &["cluster", "keyslot", key])
            .expect("CLUSTER KEYSLOT")
            .trim()
            .parse()
            .expect("a slot number");
        let nodes = Self::cli(*port, &["cluster", "nodes"]).expect("CLUSTER NODES");
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let serves = fields[8..].iter().any(|range| {
                let (first, last) = range.split_once('-').unwrap_or((range, range));
                match (first.parse::<u16>(), last.parse::<u16>()) {
                    (Ok(first), Ok(last)) => (first..=last).contains(&slot),
                    _ => false,
                }
            });
            if serves {
                let addr = fields[1].split('@').next().expect("ip:port@bus");
                return addr
                    .rsplit_once(':')
                    .and_then(|(_, p)| p.parse().ok())
                    .expect("a node's port");
            }
        }
        panic!("no master serves slot {slot}: {nodes}");
    }

    /// Moves `slots` hash slots from the master on `from` to the master on `to`
    /// (`redis-cli --cluster reshard`: their keys migrate one by one, clients are sent
    /// `ASK` while a slot moves and `MOVED` once it has); returns when it is done.
    pub fn reshard(&self, from: u16, to: u16, slots: u32) {
        let id = |port: u16| {
            Self::cli(port, &["cluster", "myid"])
                .expect("CLUSTER MYID")
                .trim()
                .to_owned()
        };
        Self::cluster_command(&[
            "reshard".into(),
            format!("127.0.0.1:{from}"),
            "--cluster-from".into(),
            id(from),
            "--cluster-to".into(),
            id(to),
            "--cluster-slots".into(),
            slots.to_string(),
        ]);
    }

    /// The ports of the masters now.
    pub fn masters(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|(p, c)| {
                c.is_some() && Self::cli(*p, &["role"]).is_some_and(|r| r.starts_with("master"))
            })
            .map(|(p, _)| *p)
            .collect()
    }

    /// Kills the node on `port` with SIGKILL.
    pub fn kill(&mut self, port: u16) {
        let (_, child) = self
            .nodes
            .iter_mut()
            .find(|(p, _)| *p == port)
            .expect("a node of this cluster");
        if let Some(mut child) = child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        wait_for_port(port, false);
    }
}

impl Drop for OwnRedisCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            if let Some(mut child) = child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL cluster of the test's own (initdb in a temporary directory).
pub struct OwnPostgres {
    bin: PathBuf,
    dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    as_root: bool,
}

impl OwnPostgres {
    /// Creates and starts one on a free port, with a database `test`.
    pub fn start() -> OwnPostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL binaries in /usr/lib/postgresql are required for this test")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("an initdb under /usr/lib/postgresql");
        let dir = temp_dir("pg");
        // PostgreSQL refuses to run as root; as root, run it as the postgres user.
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false);
        let pg = OwnPostgres {
            bin,
            dir,
            port: free_port(),
            as_root,
        };
        if as_root {
            let ok = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&pg.dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown the data directory to postgres");
        }
        pg.run(
            "initdb",
            &["-D", &pg.data(), "-U", "postgres", "-A", "trust"],
        );
        pg.restart();
        pg.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port.to_string(),
                "-U",
                "postgres",
                "test",
            ],
        );
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Its URL, database `test`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/test", self.port)
    }

    /// Starts it (again).
    pub fn restart(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("pg.log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
        );
    }

    /// Stops it, disconnecting every client.
    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if self.as_root {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .output()
        } else {
            Command::new(&exe).args(args).output()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
