//! The few libc calls std does not wrap: signals to processes and process groups, and the
//! daemon's own uid/gid. Every `unsafe` block of the Pebble double lives here.

#![allow(unsafe_code)]

use std::io;

/// Sends `signal` to the process `pid`.
pub fn kill(pid: i32, signal: i32) -> io::Result<()> {
    if pid <= 0 {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a positive pid never
    // addresses a group or every process.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sends `signal` to every process of the process group `pgid` (`kill(-pgid, signal)`).
pub fn kill_group(pgid: i32, signal: i32) -> io::Result<()> {
    if pgid <= 1 {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // SAFETY: kill(2) with a negative pid signals that process group only; pgid > 1 rules out
    // "every process" (-1) and our own group (0). No memory is shared.
    let rc = unsafe { libc::kill(-pgid, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The daemon's real uid.
pub fn uid() -> u32 {
    // SAFETY: getuid(2) cannot fail and takes no arguments.
    unsafe { libc::getuid() }
}

/// The daemon's real gid.
pub fn gid() -> u32 {
    // SAFETY: getgid(2) cannot fail and takes no arguments.
    unsafe { libc::getgid() }
}
