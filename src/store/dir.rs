//! Small run-time files the agent owns under `HA_RSCTMP` (default
//! /run/resource-agents): created mode 0600, never through a symlink, read
//! back with a size cap, so a hostile or corrupt file cannot steer the agent.
//! Every open is non-blocking: a FIFO, socket or device planted under a
//! name the agent uses is refused at once, never waited on.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most a tracking file may hold; anything longer is corrupt.
const MAX_FILE_BYTES: u64 = 4096;

/// Where files are written before they are renamed into place: a
/// directory of their own, so that finding what a killed writer left
/// behind lists the few writes in flight, not every VIP's files.
const PARTIAL_DIR: &str = "IPaddr-partial";

/// Every open: never through a symlink, never kept across exec, never
/// waiting for a FIFO's other end.
const OPEN_FLAGS: i32 = nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK;

/// How often a held lock is tried again.
const LOCK_POLL: Duration = Duration::from_millis(5);

/// The directory of run-time files.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    pub fn new(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of file `name` in this directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Makes sure the directory exists and is a real, root-owned directory.
    fn ensure(&self) -> io::Result<()> {
        owned_dir(&self.path, 0o755)
    }

    /// The directory of files being written, private, made if missing.
    fn partial_dir(&self) -> io::Result<PathBuf> {
        let dir = self.file(PARTIAL_DIR);
        owned_dir(&dir, 0o700)?;
        Ok(dir)
    }

    /// Writes `contents` to `name` atomically: a private temporary file,
    /// then a rename, so a reader never sees half a file. No fsync: these
    /// files describe what this boot of the node holds (the run directory
    /// is normally a tmpfs), and a power loss that could lose them takes
    /// the addresses they describe with it.
    pub fn write(&self, name: &str, contents: &str) -> io::Result<()> {
        self.ensure()?;
        let final_path = self.file(name);
        crate::crash_point::before("write", &name);
        let (mut file, temp_path) = create_temporary(&self.partial_dir()?, name, 0o600)?;
        let written = file.write_all(contents.as_bytes());
        let renamed = written.and_then(|_| {
            crate::crash_point::before("rename into place", &name);
            fs::rename(&temp_path, &final_path)
        });
        if let Err(err) = renamed {
            let _ = fs::remove_file(&temp_path);
            return Err(named(err, &final_path));
        }
        self.sweep_dead_writers(name);
        Ok(())
    }

    /// Saves `value` as `name`, in JSON, atomically.
    pub fn save<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let text = serde_json::to_string(value).map_err(io::Error::other)?;
        self.write(name, &text)
    }

    /// The value saved as `name`, or `None` when there is none; a file that
    /// is not such a value is an `InvalidData` error.
    pub fn load<T: DeserializeOwned>(&self, name: &str) -> io::Result<Option<T>> {
        self.load_capped(name, MAX_FILE_BYTES)
    }

    /// Like `load`, for a file allowed to hold up to `max_bytes`.
    pub fn load_capped<T: DeserializeOwned>(&self, name: &str, max_bytes: u64) -> io::Result<Option<T>> {
        match self.read_capped(name, max_bytes)? {
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|err| named(io::Error::new(io::ErrorKind::InvalidData, err), &self.file(name))),
            None => Ok(None),
        }
    }

    /// Removes the temporary copies of `name` that killed writers left
    /// behind; a live writer's (its pid ends the name) is left alone. A
    /// writer killed but not yet reaped (an announcer stop just ended, which
    /// init reaps in its own time) writes no more: its copy goes too.
    fn sweep_dead_writers(&self, name: &str) {
        for (copy, pid) in self.partial_copies(name) {
            if !crate::process::is_running(pid) {
                let _ = fs::remove_file(copy);
            }
        }
    }

    /// Removes the temporary copies of any of `names` that killed writers
    /// left behind (one listing of the directory of writes in flight).
    pub fn sweep_dead_copies(&self, names: &[String]) {
        let Ok(entries) = fs::read_dir(self.file(PARTIAL_DIR)) else { return };
        for entry in entries.flatten() {
            let copy = entry.file_name();
            let Some(copy) = copy.to_str() else { continue };
            let writer = names.iter().find_map(|name| writer_of_copy(copy, name));
            if writer.is_some_and(|pid| !crate::process::is_running(pid)) {
                crate::crash_point::before("remove", &copy);
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// The temporary copies of `name` being (or left) written, each with
    /// its writer's pid.
    fn partial_copies(&self, name: &str) -> Vec<(PathBuf, i32)> {
        let Ok(entries) = fs::read_dir(self.file(PARTIAL_DIR)) else { return Vec::new() };
        entries
            .flatten()
            .filter_map(|entry| {
                let pid = writer_of_copy(entry.file_name().to_str()?, name)?;
                Some((entry.path(), pid))
            })
            .collect()
    }

    /// Reads `name`, or `None` if it does not exist. Symlinks, non-regular
    /// files, files not owned by us and oversized files are errors.
    pub fn read(&self, name: &str) -> io::Result<Option<String>> {
        self.read_capped(name, MAX_FILE_BYTES)
    }

    /// Like `read`, for a file allowed to hold up to `max_bytes`.
    pub fn read_capped(&self, name: &str, max_bytes: u64) -> io::Result<Option<String>> {
        let path = self.file(name);
        let file = match OpenOptions::new().read(true).custom_flags(OPEN_FLAGS).open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(named(err, &path)),
        };
        let length = check_private(&file).map_err(|err| named(err, &path))?;
        match read_up_to(&file, length, max_bytes).map_err(|err| named(err, &path))? {
            Some(text) => Ok(Some(text)),
            None => Err(named(io::Error::new(io::ErrorKind::InvalidData, "file is too large"), &path)),
        }
    }

    /// Takes an exclusive lock on `name` (created if needed), held until the
    /// returned value is dropped; the kernel releases it if we are killed.
    /// Waits at most until `deadline`: a lock still held then is an error,
    /// so an action never overruns the time its caller gave it.
    pub fn lock(&self, name: &str, deadline: Instant) -> io::Result<nix::fcntl::Flock<File>> {
        use nix::fcntl::{Flock, FlockArg};
        let mut file = self.open_lock_file(name)?;
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => return Ok(lock),
                Err((back, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                    file = back;
                    std::thread::sleep(LOCK_POLL.min(deadline.saturating_duration_since(Instant::now())));
                }
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("{} is still held by another process when the action's time runs out", name),
                    ));
                }
                Err((_, errno)) => return Err(errno.into()),
            }
        }
    }

    /// Like `lock`, for a lock many processes want at once (the
    /// announcement budget under a burst of starts): the wait is the
    /// kernel's, so the lock goes to a waiter the moment it is let go,
    /// instead of to whoever happens to poll first (among 200 pollers on a
    /// loaded node, one waited past its deadline). The blocking wait runs
    /// in a thread of its own; when the deadline comes first, that thread
    /// lets the lock go as soon as it gets it.
    pub fn lock_queued(&self, name: &str, deadline: Instant) -> io::Result<nix::fcntl::Flock<File>> {
        use nix::errno::Errno;
        use nix::fcntl::{Flock, FlockArg};
        use std::sync::{Arc, Mutex, mpsc};
        let file = self.open_lock_file(name)?;
        let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((back, Errno::EWOULDBLOCK)) => back,
            Err((_, errno)) => return Err(errno.into()),
        };
        // Whether the waiting thread may hand the lock over: `false` once
        // the deadline has passed and nobody takes it any more.
        let wanted = Arc::new(Mutex::new(true));
        let (hand, taken) = mpsc::channel();
        let still_wanted = Arc::clone(&wanted);
        std::thread::spawn(move || {
            let mut file = file;
            let locked = loop {
                match Flock::lock(file, FlockArg::LockExclusive) {
                    Err((back, Errno::EINTR)) => file = back,
                    other => break other.map_err(|(_, errno)| errno),
                }
            };
            // A poisoned flag only means the other side panicked holding it.
            let wanted = still_wanted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if *wanted {
                // Sent under the flag, so the deadline cannot pass unseen in between.
                let _ = hand.send(locked);
            }
            // Not wanted: dropping `locked` lets the lock go.
        });
        let timed_out = || {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{name} is still held by another process when the action's time runs out"),
            )
        };
        match taken.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(locked) => locked.map_err(io::Error::from),
            Err(_) => {
                let mut wanted = wanted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                // Handed over at the last instant: take it.
                if let Ok(locked) = taken.try_recv() {
                    return locked.map_err(io::Error::from);
                }
                *wanted = false;
                Err(timed_out())
            }
        }
    }

    /// Opens the lock file `name`, creating it if needed. Anything else in its
    /// place (a symlink, a FIFO, a socket, an empty directory, a file not
    /// owned by us), which nobody can hold a lock of ours on, is removed
    /// first, never followed.
    pub fn open_lock_file(&self, name: &str) -> io::Result<File> {
        self.open_private(name).map(|(file, _)| file)
    }

    /// Opens `name` for reading and writing, created if missing, with its
    /// length: a regular file of ours, whatever was in its place before
    /// (see `open_lock_file`). The directory is made only when missing.
    fn open_private(&self, name: &str) -> io::Result<(File, u64)> {
        let open = || {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(OPEN_FLAGS)
                .open(self.file(name))?;
            check_private(&file).map(|length| (file, length))
        };
        let opened = match open() {
            Err(err) if err.kind() == io::ErrorKind::NotFound => self.ensure().and_then(|()| open()),
            opened => opened,
        };
        opened
            .or_else(|_| {
                fs::remove_file(self.file(name)).or_else(|_| fs::remove_dir(self.file(name)))?;
                open()
            })
            .map_err(|err| named(err, &self.file(name)))
    }

    /// The value saved as `name` (`None` when there is none yet), kept
    /// open to be rewritten in place: for a file that the caller's lock
    /// keeps every other reader and writer away from, and that every action
    /// of a VIP rewrites (the metrics' state), where the atomic `save` would
    /// cost a temporary file, a rename and a sweep each time. A value that
    /// does not read back is `InvalidData`, the file still open.
    pub fn load_rewritable<T: DeserializeOwned>(
        &self,
        name: &str,
    ) -> io::Result<(Rewritable, io::Result<Option<T>>)> {
        let (file, length) = self.open_private(name)?;
        let path = self.file(name);
        let value = match read_up_to(&file, length, MAX_FILE_BYTES) {
            Ok(Some(text)) if text.trim().is_empty() => Ok(None),
            Ok(Some(text)) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|err| named(io::Error::new(io::ErrorKind::InvalidData, err), &path)),
            Ok(None) => Err(named(io::Error::new(io::ErrorKind::InvalidData, "file is too large"), &path)),
            Err(err) => Err(named(err, &path)),
        };
        // What does not read back is replaced whole by the next save.
        let length = if value.is_ok() { length } else { 0 };
        Ok((Rewritable { file, length, path }, value))
    }

    /// Opens the lock file `name` if it exists; never follows a symlink.
    pub fn open_existing_lock_file(&self, name: &str) -> io::Result<Option<File>> {
        let opened = OpenOptions::new().read(true).custom_flags(OPEN_FLAGS).open(self.file(name));
        match opened {
            Ok(file) => check_private(&file).map(|_| Some(file)).map_err(|err| named(err, &self.file(name))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(named(err, &self.file(name))),
        }
    }

    /// The names of the files in this directory that start with `prefix`.
    pub fn names_starting_with(&self, prefix: &str) -> Vec<String> {
        let Ok(entries) = fs::read_dir(&self.path) else { return Vec::new() };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.starts_with(prefix))
            .collect()
    }

    /// Removes `name`, and any temporary copy of it a killed writer left
    /// behind; a missing file is fine, and so is a directory (none of ours).
    pub fn remove(&self, name: &str) -> io::Result<()> {
        crate::crash_point::before("remove", &name);
        for (copy, _) in self.partial_copies(name) {
            let _ = fs::remove_file(copy);
        }
        match fs::remove_file(self.file(name)) {
            // A directory under the name is none of our files: nothing of ours to remove.
            Err(err) if matches!(err.kind(), io::ErrorKind::NotFound | io::ErrorKind::IsADirectory) => Ok(()),
            Err(err) => Err(named(err, &self.file(name))),
            Ok(()) => Ok(()),
        }
    }
}

/// A run-directory file held open to be rewritten in place
/// (`RunDir::load_rewritable`).
pub struct Rewritable {
    file: File,
    length: u64,
    path: PathBuf,
}

impl Rewritable {
    /// Replaces the file's value with `value`, in one write at its start:
    /// blanks pad it to the old length, so the file never shrinks and no
    /// truncation is needed (JSON ignores trailing blanks), and a write of
    /// less than a page is not split by a signal, SIGKILL included.
    pub fn save<T: Serialize>(&self, value: &T) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let mut bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
        let length = usize::try_from(self.length).unwrap_or(usize::MAX);
        crate::crash_point::before("rewrite", &self.path.display());
        if self.length == 0 {
            // Empty, or holding what did not read back: start afresh.
            self.file.set_len(0).map_err(|err| named(err, &self.path))?;
        } else if bytes.len() < length {
            bytes.resize(length, b' ');
        }
        self.file.write_all_at(&bytes, 0).map_err(|err| named(err, &self.path))
    }
}

/// Creates a new file for writing `name` in `dir`, readable as `mode`
/// says whatever the caller's umask: its name is `name`'s hidden, followed
/// by the writer's pid and a random part, and it is created exclusively,
/// so nothing planted in its place (a FIFO, a symlink) is ever opened.
pub fn create_temporary(dir: &Path, name: &str, mode: u32) -> io::Result<(File, PathBuf)> {
    use std::hash::{BuildHasher, Hasher};
    use std::os::unix::fs::PermissionsExt;
    let mut tries = 0;
    loop {
        // std seeds every RandomState from the system's random source.
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let path = dir.join(format!(".{name}.{}.{random:016x}", std::process::id()));
        let created =
            OpenOptions::new().write(true).create_new(true).mode(mode).custom_flags(OPEN_FLAGS).open(&path);
        match created {
            Ok(file) => {
                // The umask took bits from `mode` (Pacemaker's executor runs
                // agents with 0026): put them back.
                file.set_permissions(fs::Permissions::from_mode(mode))?;
                return Ok((file, path));
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && tries < 3 => tries += 1,
            Err(err) => return Err(named(err, &path)),
        }
    }
}

/// The writer's pid when `copy` is a temporary copy of `name` as
/// `create_temporary` names them (`.NAME.PID.RANDOM`, RANDOM 16 hex
/// digits): exactly, so that a copy of `web.example` is never taken for
/// one of `web`.
fn writer_of_copy(copy: &str, name: &str) -> Option<i32> {
    let (pid, random) = copy.strip_prefix('.')?.strip_prefix(name)?.strip_prefix('.')?.split_once('.')?;
    let random_ok = random.len() == 16 && random.bytes().all(|b| b.is_ascii_hexdigit());
    let pid_ok = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    if random_ok && pid_ok { pid.parse().ok() } else { None }
}

/// `err`, saying which file it is about.
fn named(err: io::Error, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

/// Makes `path` a directory (with `mode`) if it is missing; anything else
/// there but a directory of ours is refused, never followed.
fn owned_dir(path: &Path, mode: u32) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_dir() && meta.uid() == our_uid() => Ok(()),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is not a directory owned by us", path.display()),
        )),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new().recursive(true).mode(mode).create(path)
        }
        Err(err) => Err(err),
    }
}

/// The text of an open `file` of `length` bytes (from its metadata), or
/// `None` when it holds more than `max_bytes`; text that is not UTF-8 is an
/// `InvalidData` error. One read when the length is right.
fn read_up_to(mut file: &File, length: u64, max_bytes: u64) -> io::Result<Option<String>> {
    let asked = length.min(max_bytes) as usize + 1;
    let mut bytes = vec![0; asked];
    let first = loop {
        match file.read(&mut bytes) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            read => break read?,
        }
    };
    bytes.truncate(first);
    // A read that stops one byte short of what it asked, at the measured
    // length, stopped at the end: no second read to hear it. A file that
    // grew or shrank meanwhile is read on to its end.
    if first as u64 != length {
        file.take(max_bytes + 1 - first as u64).read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > max_bytes {
        return Ok(None);
    }
    String::from_utf8(bytes).map(Some).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

/// The effective user, asked once: every file and directory of the run
/// directory is checked against it.
fn our_uid() -> u32 {
    static UID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UID.get_or_init(|| nix::unistd::geteuid().as_raw())
}

/// The file's length, once it is known to be a regular file of ours.
fn check_private(file: &File) -> io::Result<u64> {
    let meta = file.metadata()?;
    if !meta.file_type().is_file() || meta.uid() != our_uid() {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "not a regular file owned by us"));
    }
    Ok(meta.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> RunDir {
        let path = std::env::temp_dir().join(format!("ocf-ipaddr-rundir-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        RunDir::new(path)
    }

    #[test]
    fn written_files_are_private_and_read_back() {
        let dir = temp_dir("rw");
        dir.write("x", "hello").unwrap();
        assert_eq!(dir.read("x").unwrap().as_deref(), Some("hello"));
        let mode = fs::metadata(dir.file("x")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let partial = dir.file(PARTIAL_DIR);
        let in_flight = |d: &Path| fs::read_dir(d).unwrap().count();
        assert_eq!(in_flight(&partial), 0, "a finished write leaves nothing behind");
        let dead = i32::MAX; // above pid_max: never a live process
        let random = "0123456789abcdef";
        let copy = |name: &str, pid: i32| partial.join(format!(".{name}.{pid}.{random}"));
        std::fs::write(copy("x", dead), "killed").unwrap();
        std::fs::write(copy("x", 1), "pid 1 is alive").unwrap();
        std::fs::write(copy("x.example", dead), "another file's, whose name starts with x.").unwrap();
        dir.write("x", "again").unwrap();
        assert!(!copy("x", dead).exists(), "a dead writer's copy is swept by the next write");
        assert!(copy("x", 1).exists(), "a live writer's copy is left alone");
        assert!(copy("x.example", dead).exists(), "x.example's copy is not x's");
        std::fs::write(copy("x", 12345), "half").unwrap();
        std::fs::write(copy("xy", 12345), "another file's").unwrap();
        dir.remove("x").unwrap();
        assert_eq!(dir.read("x").unwrap(), None);
        assert!(!copy("x", 12345).exists(), "a killed writer's temporary file is cleaned up");
        assert!(copy("xy", 12345).exists(), "only this file's");
        std::fs::write(copy("y", dead), "killed").unwrap();
        std::fs::write(copy("y", 1), "alive").unwrap();
        dir.sweep_dead_copies(&["y".to_string(), "x.example".to_string()]);
        assert!(
            !copy("y", dead).exists() && !copy("x.example", dead).exists(),
            "dead writers' copies of the names go"
        );
        assert!(copy("y", 1).exists() && copy("xy", 12345).exists(), "a live writer's and other names' stay");
        dir.remove("x").unwrap();
        fs::remove_dir_all(dir.path()).unwrap();
    }

    #[test]
    fn symlinks_are_neither_read_nor_written_through() {
        let dir = temp_dir("link");
        dir.write("real", "secret").unwrap();
        std::os::unix::fs::symlink(dir.file("real"), dir.file("link")).unwrap();
        assert!(dir.read("link").is_err());
        dir.write("link", "new").unwrap();
        assert!(fs::symlink_metadata(dir.file("link")).unwrap().file_type().is_file());
        assert_eq!(dir.read("real").unwrap().as_deref(), Some("secret"));
        fs::remove_dir_all(dir.path()).unwrap();
    }

    #[test]
    fn a_held_lock_is_waited_for_only_until_the_deadline() {
        let dir = temp_dir("lock");
        let held = dir.lock("l", Instant::now()).unwrap();
        let started = Instant::now();
        let err = dir.lock("l", started + Duration::from_millis(50)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(50));
        drop(held);
        assert!(
            dir.lock("l", Instant::now()).is_ok(),
            "a free lock is taken at once, even past the deadline"
        );
        fs::remove_dir_all(dir.path()).unwrap();
    }

    #[test]
    fn a_queued_lock_is_handed_over_when_let_go_and_never_kept_past_the_deadline() {
        let dir = temp_dir("queued");
        let held = dir.lock("q", Instant::now()).unwrap();
        let started = Instant::now();
        let err = dir.lock_queued("q", started + Duration::from_millis(50)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(50));
        // A waiter in the kernel's queue, handed the lock when it is let go.
        let waiter = {
            let dir = dir.clone();
            std::thread::spawn(move || dir.lock_queued("q", Instant::now() + Duration::from_secs(30)).is_ok())
        };
        drop(held);
        assert!(waiter.join().unwrap(), "the queued waiter got the lock");
        // The waiter that gave up let go of the lock it got later: it is free.
        let free = dir.lock("q", Instant::now() + Duration::from_secs(5));
        assert!(free.is_ok(), "nobody keeps the lock");
        fs::remove_dir_all(dir.path()).unwrap();
    }

    #[test]
    fn a_rewritable_file_reads_back_what_was_saved_longer_or_shorter() {
        let dir = temp_dir("rewrite");
        let (file, loaded) = dir.load_rewritable::<Vec<u32>>("r").unwrap();
        assert_eq!(loaded.unwrap(), None, "a new file holds no value yet");
        file.save(&vec![1, 2, 3, 4, 5, 6]).unwrap();
        let (file, loaded) = dir.load_rewritable::<Vec<u32>>("r").unwrap();
        assert_eq!(loaded.unwrap(), Some(vec![1, 2, 3, 4, 5, 6]));
        file.save(&vec![7]).unwrap();
        let (file, loaded) = dir.load_rewritable::<Vec<u32>>("r").unwrap();
        assert_eq!(loaded.unwrap(), Some(vec![7]), "a shorter value is padded, not left with the old tail");
        assert_eq!(fs::metadata(dir.file("r")).unwrap().len(), 13, "the file never shrinks");
        assert_eq!(fs::metadata(dir.file("r")).unwrap().mode() & 0o777, 0o600);
        drop(file);
        for corrupt in [b"{not json".to_vec(), b"\xff\xfe".to_vec(), vec![b'7'; 10_000]] {
            fs::write(dir.file("r"), &corrupt).unwrap();
            let (file, loaded) = dir.load_rewritable::<Vec<u32>>("r").unwrap();
            assert_eq!(loaded.unwrap_err().kind(), io::ErrorKind::InvalidData);
            file.save(&vec![8]).unwrap();
            let (_, loaded) = dir.load_rewritable::<Vec<u32>>("r").unwrap();
            assert_eq!(loaded.unwrap(), Some(vec![8]), "what did not read back is replaced whole");
        }
        fs::remove_dir_all(dir.path()).unwrap();
    }

    #[test]
    fn oversized_files_are_refused() {
        let dir = temp_dir("big");
        dir.write("big", &"x".repeat(5000)).unwrap();
        assert!(dir.read("big").is_err());
        fs::remove_dir_all(dir.path()).unwrap();
    }

    #[test]
    fn a_file_is_read_whole_whatever_length_it_was_measured_at() {
        let dir = temp_dir("length");
        dir.write("f", "0123456789").unwrap();
        let open = || File::open(dir.path().join("f")).unwrap();
        // As measured; then as if it grew or shrank after the measure.
        for measured in [10, 0, 4, 9, 11, 40] {
            let text = read_up_to(&open(), measured, 64).unwrap();
            assert_eq!(text.as_deref(), Some("0123456789"), "measured at {measured}");
        }
        for measured in [10, 3, 40] {
            assert_eq!(
                read_up_to(&open(), measured, 9).unwrap(),
                None,
                "over the cap, measured at {measured}"
            );
        }
        assert_eq!(read_up_to(&open(), 10, 10).unwrap().as_deref(), Some("0123456789"), "at the cap");
        fs::write(dir.path().join("f"), b"\xff\xfe").unwrap();
        assert_eq!(read_up_to(&open(), 2, 64).unwrap_err().kind(), io::ErrorKind::InvalidData);
        fs::remove_dir_all(dir.path()).unwrap();
    }
}
