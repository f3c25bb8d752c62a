# Windows PowerShell: set up (first time only) and start the chat, like run.sh:
#   powershell -ExecutionPolicy Bypass -File scripts\run.ps1 [--preset openai --port 8000 | ask "question" | presets]
# Not tried on Windows.
$ErrorActionPreference = "Stop"
& (Join-Path $PSScriptRoot "setup.ps1")
if ($LASTEXITCODE) { exit $LASTEXITCODE }
& (Join-Path (Split-Path -Parent $PSScriptRoot) ".venv\Scripts\llmchat.exe") @args
exit $LASTEXITCODE
