# Windows PowerShell: create .venv (once) and install llmchat into it, editable, with the local
# model and the test tools (pip install -e ".[local,test]"); again only when pyproject.toml changed.
# Called by run.ps1 and test.ps1; safe to run on its own. The same as setup.sh. Not tried on Windows.
$ErrorActionPreference = "Stop"
Push-Location (Split-Path -Parent $PSScriptRoot)
try {
    if (-not (Test-Path ".venv\Scripts\python.exe")) {
        # The Python launcher (python.org installs) if there is one, else python on the PATH.
        $pre = @()
        if ($env:PYTHON) { $exe = $env:PYTHON }
        elseif (Get-Command py -ErrorAction SilentlyContinue) { $exe = "py"; $pre = @("-3") }
        else { $exe = "python" }
        Write-Host "llmchat: creating .venv with $exe $pre"
        & $exe @pre -m venv .venv
        if ($LASTEXITCODE) { exit $LASTEXITCODE }
    }
    $stamp = ".venv\.llmchat-requirements"
    $wanted = (Get-FileHash pyproject.toml -Algorithm SHA256).Hash.ToLower()
    $have = if (Test-Path $stamp) { (Get-Content $stamp -Raw).Trim() } else { "" }
    if ($have -ne $wanted) {
        Write-Host "llmchat: installing llmchat[local,test] into .venv (the first time takes a few minutes)"
        # llama-cpp-python compiles llama.cpp (it needs Visual Studio's C++ build tools and CMake):
        # build for any CPU, not only this one.
        if (-not $env:CMAKE_ARGS) { $env:CMAKE_ARGS = "-DGGML_NATIVE=OFF" }
        & .venv\Scripts\python.exe -m pip install --disable-pip-version-check -q -e ".[local,test]"
        if ($LASTEXITCODE) { exit $LASTEXITCODE }
        Set-Content -Path $stamp -Value $wanted -NoNewline
    }
}
finally {
    Pop-Location
}
