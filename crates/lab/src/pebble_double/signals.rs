//! Signal names as the API spells them (`SIGHUP`), mapped to their numbers on Linux.

/// The number of the signal called `name` (`"SIGTERM"`), or `None` for an unknown name.
pub fn number(name: &str) -> Option<i32> {
    Some(match name {
        "SIGABRT" | "SIGIOT" => libc::SIGABRT,
        "SIGALRM" => libc::SIGALRM,
        "SIGBUS" => libc::SIGBUS,
        "SIGCHLD" => libc::SIGCHLD,
        "SIGCONT" => libc::SIGCONT,
        "SIGFPE" => libc::SIGFPE,
        "SIGHUP" => libc::SIGHUP,
        "SIGILL" => libc::SIGILL,
        "SIGINT" => libc::SIGINT,
        "SIGIO" | "SIGPOLL" => libc::SIGIO,
        "SIGKILL" => libc::SIGKILL,
        "SIGPIPE" => libc::SIGPIPE,
        "SIGPROF" => libc::SIGPROF,
        "SIGPWR" => libc::SIGPWR,
        "SIGQUIT" => libc::SIGQUIT,
        "SIGSEGV" => libc::SIGSEGV,
        "SIGSTKFLT" => libc::SIGSTKFLT,
        "SIGSTOP" => libc::SIGSTOP,
        "SIGSYS" => libc::SIGSYS,
        "SIGTERM" => libc::SIGTERM,
        "SIGTRAP" => libc::SIGTRAP,
        "SIGTSTP" => libc::SIGTSTP,
        "SIGTTIN" => libc::SIGTTIN,
        "SIGTTOU" => libc::SIGTTOU,
        "SIGURG" => libc::SIGURG,
        "SIGUSR1" => libc::SIGUSR1,
        "SIGUSR2" => libc::SIGUSR2,
        "SIGVTALRM" => libc::SIGVTALRM,
        "SIGWINCH" => libc::SIGWINCH,
        "SIGXCPU" => libc::SIGXCPU,
        "SIGXFSZ" => libc::SIGXFSZ,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::number("SIGHUP"), Some(libc::SIGHUP));
        assert_eq!(super::number("HUP"), None);
        assert_eq!(super::number("SIGNOPE"), None);
    }
}
