# Windows PowerShell: set up (first time only), lint, and run the test suite, like test.sh:
#   powershell -ExecutionPolicy Bypass -File scripts\test.ps1 [pytest arguments]
# Not tried on Windows; parts of the suite use Linux's /proc and POSIX signals, and the browser
# tests look for Chromium at /usr/bin/chromium (set LLMCHAT_CHROMIUM).
$ErrorActionPreference = "Stop"
& (Join-Path $PSScriptRoot "setup.ps1")
if ($LASTEXITCODE) { exit $LASTEXITCODE }
Push-Location (Split-Path -Parent $PSScriptRoot)
try {
    & .venv\Scripts\ruff.exe check .
    if ($LASTEXITCODE) { exit $LASTEXITCODE }
    & .venv\Scripts\ruff.exe format --check .
    if ($LASTEXITCODE) { exit $LASTEXITCODE }
    & .venv\Scripts\python.exe -m pytest @args
    exit $LASTEXITCODE
}
finally {
    Pop-Location
}
