/* A stand-in for Windows' bcryptprimitives.dll, for running the tests under Wine only.
 *
 * Rust's standard library draws its random numbers (HashMap seeds among them) from
 * bcryptprimitives.dll's ProcessPrng, which Windows 10 and later have and Wine 8.0 lacks.
 * This DLL forwards ProcessPrng to BCryptGenRandom, which Wine has. `cargo xtask windows`
 * builds it with MinGW and copies it into the Wine prefix's system32; nothing ships it. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
