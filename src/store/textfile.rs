//! node_exporter's textfile collector reads `*.prom` files from the
//! directory `metrics_dir` names, as its own user (`prometheus` on Debian).
//! Each resource's textfile is rewritten atomically by every action that
//! changes or observes the VIP, mode 0644 whatever the caller's umask.

use super::dir::create_temporary;
use super::key::encode;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Readable by node_exporter's user, writable by the agent only.
const MODE: u32 = 0o644;

/// The name of the textfile of the resource named `resource`:
/// node_exporter reads `*.prom`; the name is spelled one-to-one, so two
/// resources never share a file (`web.vip` and `web_vip`, `vip:1` and
/// `vip_1`).
pub fn name(resource: &str) -> String {
    format!("ocf_ipaddr_{}.prom", encode(resource))
}

/// The most of a textfile read to see whose it is; ours are a few KiB.
const MAX_READ_BYTES: u64 = 64 * 1024;

/// Removes `dir/name` if it is a regular file whose samples carry the
/// label `resource="<resource>"` (`escaped`): a file the previous release
/// wrote for this resource under a name this one no longer uses. Anything
/// else, another resource's file above all, stays.
pub fn remove_if_of(dir: &Path, name: &str, escaped: &str) {
    let path = dir.join(name);
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
        .open(&path);
    let Ok(file) = opened else { return };
    if !file.metadata().is_ok_and(|meta| meta.is_file()) {
        return;
    }
    let mut text = String::new();
    if file.take(MAX_READ_BYTES).read_to_string(&mut text).is_err() {
        return;
    }
    if text.contains(&format!("{{resource=\"{escaped}\",")) {
        crate::crash_point::before("remove", &path.display());
        let _ = std::fs::remove_file(&path);
    }
}

/// Writes `text` as `dir/name` atomically: a hidden temporary file (not
/// `*.prom`, so never collected half written), created exclusively under a
/// random name, then put in place.
pub fn write(dir: &Path, name: &str, text: &str) -> io::Result<()> {
    crate::crash_point::before("write", &name);
    let (mut file, temp) = create_temporary(dir, name, MODE)?;
    let written = file.write_all(text.as_bytes()).and_then(|()| {
        crate::crash_point::before("put in place", &name);
        put_in_place(&temp, &dir.join(name))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Moves the written `temp` to `target` in one step, a reader seeing the
/// old file or the new one. When there is an old one, the two names are
/// swapped and the old file, now under the temporary name, removed: ext4
/// writes a file renamed over another out to disk at once (auto_da_alloc),
/// a disk write and about four times the file system work on every
/// monitor of every VIP, for a file the next monitor replaces anyway. A
/// file system that cannot swap names, and a first write, get a rename.
fn put_in_place(temp: &Path, target: &Path) -> io::Result<()> {
    use nix::errno::Errno;
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    match renameat2(AT_FDCWD, temp, AT_FDCWD, target, RenameFlags::RENAME_EXCHANGE) {
        Ok(()) => {
            crate::crash_point::before("remove swapped out", &temp.display());
            remove_swapped_out(temp)
        }
        Err(Errno::ENOENT | Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {
            std::fs::rename(temp, target)
        }
        Err(err) => Err(err.into()),
    }
}

/// Removes what the swap put under the temporary name: the old textfile,
/// or whatever someone planted under the textfile's name (a directory
/// included).
fn remove_swapped_out(temp: &Path) -> io::Result<()> {
    match std::fs::remove_file(temp) {
        Err(err) if err.kind() == io::ErrorKind::IsADirectory => std::fs::remove_dir_all(temp),
        removed => removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    #[test]
    fn names_are_one_to_one() {
        assert_eq!(name("vip"), "ocf_ipaddr_vip.prom");
        assert_eq!(name("vip:1"), "ocf_ipaddr_vip:1.prom");
        assert_ne!(name("web.vip"), name("web_vip"));
        assert_ne!(name("vip:1"), name("vip_1"));
        assert_eq!(name("../x"), "ocf_ipaddr_..%2Fx.prom");
    }

    #[test]
    fn a_textfile_is_put_in_place_readable_by_all_and_never_written_through_what_was_planted() {
        let dir = std::env::temp_dir().join(format!("ocf-ipaddr-textfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("ocf_ipaddr_vip.prom");
        // As under Pacemaker's executor, whose umask takes the group's
        // write and everyone's read.
        let old_umask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o026));
        write(&dir, "ocf_ipaddr_vip.prom", "first\n").unwrap();
        nix::sys::stat::umask(old_umask);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "first\n");
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o644);
        let reader = std::fs::File::open(&target).unwrap();
        write(&dir, "ocf_ipaddr_vip.prom", "second\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "second\n");
        assert_eq!(listing(&dir), ["ocf_ipaddr_vip.prom"], "the old file is gone, no temporary is left");
        let mut held = String::new();
        io::Read::read_to_string(&mut &reader, &mut held).unwrap();
        assert_eq!(held, "first\n", "a reader of the old file reads it whole");

        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::remove_file(&target).unwrap();
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write(&dir, "ocf_ipaddr_vip.prom", "third\n").unwrap();
        assert!(!target.is_symlink());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious", "the link is never followed");
        std::fs::remove_file(&target).unwrap();
        nix::unistd::mkfifo(&target, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
        write(&dir, "ocf_ipaddr_vip.prom", "fourth\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "fourth\n", "a FIFO is replaced, not opened");
        std::fs::remove_file(&target).unwrap();
        std::fs::create_dir(&target).unwrap();
        write(&dir, "ocf_ipaddr_vip.prom", "fifth\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "fifth\n", "so is a directory");
        assert_eq!(listing(&dir), ["ocf_ipaddr_vip.prom", "victim"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
