//! OCF exit codes (OCF 1.1, "Exit codes").

/// The exit status of an action, as Pacemaker reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    Success = 0,
    ErrGeneric = 1,
    ErrArgs = 2,
    ErrUnimplemented = 3,
    ErrPerm = 4,
    ErrInstalled = 5,
    ErrConfigured = 6,
    NotRunning = 7,
    /// OCF 1.1: running, but not fully healthy (a deep check failed).
    Degraded = 190,
}

impl ExitCode {
    /// The numeric status handed to the operating system.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The symbolic name used by ocf-shellfuncs (`OCF_ERR_CONFIGURED`…),
    /// which admins know from IPaddr2's logs.
    pub fn name(self) -> &'static str {
        match self {
            ExitCode::Success => "OCF_SUCCESS",
            ExitCode::ErrGeneric => "OCF_ERR_GENERIC",
            ExitCode::ErrArgs => "OCF_ERR_ARGS",
            ExitCode::ErrUnimplemented => "OCF_ERR_UNIMPLEMENTED",
            ExitCode::ErrPerm => "OCF_ERR_PERM",
            ExitCode::ErrInstalled => "OCF_ERR_INSTALLED",
            ExitCode::ErrConfigured => "OCF_ERR_CONFIGURED",
            ExitCode::NotRunning => "OCF_NOT_RUNNING",
            ExitCode::Degraded => "OCF_DEGRADED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_ocf_spec_numbers() {
        let table = [
            (ExitCode::Success, 0, "OCF_SUCCESS"),
            (ExitCode::ErrGeneric, 1, "OCF_ERR_GENERIC"),
            (ExitCode::ErrArgs, 2, "OCF_ERR_ARGS"),
            (ExitCode::ErrUnimplemented, 3, "OCF_ERR_UNIMPLEMENTED"),
            (ExitCode::ErrPerm, 4, "OCF_ERR_PERM"),
            (ExitCode::ErrInstalled, 5, "OCF_ERR_INSTALLED"),
            (ExitCode::ErrConfigured, 6, "OCF_ERR_CONFIGURED"),
            (ExitCode::NotRunning, 7, "OCF_NOT_RUNNING"),
            (ExitCode::Degraded, 190, "OCF_DEGRADED"),
        ];
        for (exit, number, name) in table {
            assert_eq!(exit.code(), number);
            assert_eq!(exit.name(), name);
        }
    }
}
