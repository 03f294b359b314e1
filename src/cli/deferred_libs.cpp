// GSSAPI and LDAP for a statically linked libpq, loaded on first use.
//
// Why: libpq.so needs libgssapi_krb5 and libldap, and through them about fifteen more libraries
// (Kerberos, GnuTLS, p11-kit, libunistring...), all linked with BIND_NOW. Mapping and relocating
// them costs every run of the command ~5 ms before main() on the development machine (psql
// --version pays the same), while libpq calls GSSAPI only for TCP connections with gssencmode
// not disabled or a server asking for Kerberos, and LDAP only for an ldap:// line of a service
// file. So the command links libpq.a (cli.mk; the shared library where libpq.a is missing) and
// these definitions of the functions libpq.a calls: each opens the real library with dlopen() on
// first use and forwards the call, unchanged. Their declarations come from the libraries' own
// headers, so a signature that differs does not compile.
//
// When the library cannot be loaded, the calls fail as the API defines failure: GSSAPI calls
// return GSS_S_UNAVAILABLE (libpq then treats GSSAPI as absent, as with no credential cache) and
// ldap_init() returns NULL (libpq reports that the LDAP structure could not be created).
#include <dlfcn.h>
#include <gssapi/gssapi.h>
#define LDAP_DEPRECATED 1  // libpq uses ldap_init, ldap_simple_bind, ldap_search_st...
#include <ldap.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// Why the GSSAPI library could not be loaded (dlerror() at that moment), for its error messages.
char gssapi_load_error[512];

void* gssapi_library() {
  static void* const handle = [] {
    void* h = dlopen(PGM_GSSAPI_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* why = dlerror();
      std::snprintf(gssapi_load_error, sizeof gssapi_load_error, "%s", why ? why : "unknown error");
    }
    return h;
  }();
  return handle;
}

void* ldap_library() {
  static void* const handle = dlopen(PGM_LDAP_SONAME, RTLD_NOW | RTLD_LOCAL);
  return handle;
}

template <typename Function>
Function find(void* library, const char* name) {
  return library ? reinterpret_cast<Function>(dlsym(library, name)) : nullptr;
}

// The real function, looked up once per function (static locals are initialised thread-safely:
// the command connects to several databases at once).
#define PGM_REAL(library, name) \
  static const auto real = find<decltype(&::name)>(library(), #name)

// Without the library, a call fails as MIT Kerberos fails one: GSS_S_UNAVAILABLE, with its
// output handles and buffers emptied (libpq releases them afterwards).
OM_uint32 gssapi_unavailable(OM_uint32* minor_status) {
  if (minor_status) *minor_status = 0;
  return GSS_S_UNAVAILABLE;
}

void empty(gss_buffer_t buffer) {
  if (buffer) {
    buffer->length = 0;
    buffer->value = nullptr;
  }
}

}  // namespace

// libpq names the host-based service name type through this variable. MIT's gss_import_name
// compares name types by value; the call below still passes the library's own object.
static gss_OID_desc host_based_service_oid = {10, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04")};

extern "C" {

gss_OID GSS_C_NT_HOSTBASED_SERVICE = &host_based_service_oid;

OM_uint32 gss_import_name(OM_uint32* minor_status, gss_buffer_t input_name_buffer,
                          gss_OID input_name_type, gss_name_t* output_name) {
  PGM_REAL(gssapi_library, gss_import_name);
  if (!real) {
    if (output_name) *output_name = GSS_C_NO_NAME;
    return gssapi_unavailable(minor_status);
  }
  if (input_name_type == &host_based_service_oid) {
    static gss_OID* const library_oid =
        static_cast<gss_OID*>(dlsym(gssapi_library(), "GSS_C_NT_HOSTBASED_SERVICE"));
    if (library_oid) input_name_type = *library_oid;
  }
  return real(minor_status, input_name_buffer, input_name_type, output_name);
}

OM_uint32 gss_acquire_cred(OM_uint32* minor_status, gss_name_t desired_name, OM_uint32 time_req,
                           gss_OID_set desired_mechs, gss_cred_usage_t cred_usage,
                           gss_cred_id_t* output_cred_handle, gss_OID_set* actual_mechs,
                           OM_uint32* time_rec) {
  PGM_REAL(gssapi_library, gss_acquire_cred);
  if (!real) {
    if (output_cred_handle) *output_cred_handle = GSS_C_NO_CREDENTIAL;
    if (actual_mechs) *actual_mechs = GSS_C_NO_OID_SET;
    if (time_rec) *time_rec = 0;
    return gssapi_unavailable(minor_status);
  }
  return real(minor_status, desired_name, time_req, desired_mechs, cred_usage,
              output_cred_handle, actual_mechs, time_rec);
}

OM_uint32 gss_init_sec_context(OM_uint32* minor_status, gss_cred_id_t claimant_cred_handle,
                               gss_ctx_id_t* context_handle, gss_name_t target_name,
                               gss_OID mech_type, OM_uint32 req_flags, OM_uint32 time_req,
                               gss_channel_bindings_t input_chan_bindings,
                               gss_buffer_t input_token, gss_OID* actual_mech_type,
                               gss_buffer_t output_token, OM_uint32* ret_flags,
                               OM_uint32* time_rec) {
  PGM_REAL(gssapi_library, gss_init_sec_context);
  if (!real) {
    empty(output_token);
    if (actual_mech_type) *actual_mech_type = GSS_C_NO_OID;
    if (ret_flags) *ret_flags = 0;
    if (time_rec) *time_rec = 0;
    return gssapi_unavailable(minor_status);
  }
  return real(minor_status, claimant_cred_handle, context_handle, target_name, mech_type,
              req_flags, time_req, input_chan_bindings, input_token, actual_mech_type,
              output_token, ret_flags, time_rec);
}

OM_uint32 gss_delete_sec_context(OM_uint32* minor_status, gss_ctx_id_t* context_handle,
                                 gss_buffer_t output_token) {
  PGM_REAL(gssapi_library, gss_delete_sec_context);
  if (!real) {
    empty(output_token);
    return gssapi_unavailable(minor_status);
  }
  return real(minor_status, context_handle, output_token);
}

OM_uint32 gss_wrap(OM_uint32* minor_status, gss_ctx_id_t context_handle, int conf_req_flag,
                   gss_qop_t qop_req, gss_buffer_t input_message_buffer, int* conf_state,
                   gss_buffer_t output_message_buffer) {
  PGM_REAL(gssapi_library, gss_wrap);
  if (!real) {
    empty(output_message_buffer);
    return gssapi_unavailable(minor_status);
  }
  return real(minor_status, context_handle, conf_req_flag, qop_req, input_message_buffer,
              conf_state, output_message_buffer);
}

OM_uint32 gss_unwrap(OM_uint32* minor_status, gss_ctx_id_t context_handle,
                     gss_buffer_t input_message_buffer, gss_buffer_t output_message_buffer,
                     int* conf_state, gss_qop_t* qop_state) {
  PGM_REAL(gssapi_library, gss_unwrap);
  if (!real) {
    empty(output_message_buffer);
    return gssapi_unavailable(minor_status);
  }
  return real(minor_status, context_handle, input_message_buffer, output_message_buffer,
              conf_state, qop_state);
}

OM_uint32 gss_wrap_size_limit(OM_uint32* minor_status, gss_ctx_id_t context_handle,
                              int conf_req_flag, gss_qop_t qop_req, OM_uint32 req_output_size,
                              OM_uint32* max_input_size) {
  PGM_REAL(gssapi_library, gss_wrap_size_limit);
  if (!real) {
    if (max_input_size) *max_input_size = 0;
    return gssapi_unavailable(minor_status);
  }
  return real(minor_status, context_handle, conf_req_flag, qop_req, req_output_size,
              max_input_size);
}

OM_uint32 gss_release_name(OM_uint32* minor_status, gss_name_t* input_name) {
  PGM_REAL(gssapi_library, gss_release_name);
  if (!real) return gssapi_unavailable(minor_status);
  return real(minor_status, input_name);
}

OM_uint32 gss_release_cred(OM_uint32* minor_status, gss_cred_id_t* cred_handle) {
  PGM_REAL(gssapi_library, gss_release_cred);
  if (!real) return gssapi_unavailable(minor_status);
  return real(minor_status, cred_handle);
}

// libpq's error reporting calls this after a failed call, for the major status and then the
// minor one, so without the library it still fills the buffer (with a copy gss_release_buffer
// frees) and ends the message loop: "GSSAPI library ... could not be loaded: <why>".
OM_uint32 gss_display_status(OM_uint32* minor_status, OM_uint32 status_value, int status_type,
                             gss_OID mech_type, OM_uint32* message_context,
                             gss_buffer_t status_string) {
  PGM_REAL(gssapi_library, gss_display_status);
  if (real)
    return real(minor_status, status_value, status_type, mech_type, message_context,
                status_string);
  const char* text = status_type == GSS_C_GSS_CODE
                         ? "GSSAPI library " PGM_GSSAPI_SONAME " could not be loaded"
                         : gssapi_load_error;
  if (message_context) *message_context = 0;
  if (status_string) {
    status_string->value = strdup(text);
    status_string->length = status_string->value ? std::strlen(text) : 0;
  }
  if (minor_status) *minor_status = 0;
  return GSS_S_COMPLETE;
}

OM_uint32 gss_release_buffer(OM_uint32* minor_status, gss_buffer_t buffer) {
  PGM_REAL(gssapi_library, gss_release_buffer);
  if (real) return real(minor_status, buffer);
  if (buffer) {
    std::free(buffer->value);  // only gss_display_status above filled one
    buffer->value = nullptr;
    buffer->length = 0;
  }
  if (minor_status) *minor_status = 0;
  return GSS_S_COMPLETE;
}

LDAP* ldap_init(const char* host, int port) {
  PGM_REAL(ldap_library, ldap_init);
  return real ? real(host, port) : nullptr;
}

// Every call below receives the LDAP handle ldap_init() returned, so the library is loaded.
int ldap_set_option(LDAP* ld, int option, const void* invalue) {
  PGM_REAL(ldap_library, ldap_set_option);
  return real ? real(ld, option, invalue) : LDAP_OPT_ERROR;
}

int ldap_simple_bind(LDAP* ld, const char* who, const char* passwd) {
  PGM_REAL(ldap_library, ldap_simple_bind);
  return real ? real(ld, who, passwd) : -1;
}

int ldap_result(LDAP* ld, int msgid, int all, struct timeval* timeout, LDAPMessage** result) {
  PGM_REAL(ldap_library, ldap_result);
  return real ? real(ld, msgid, all, timeout, result) : -1;
}

int ldap_search_st(LDAP* ld, LDAP_CONST char* base, int scope, LDAP_CONST char* filter,
                   char** attrs, int attrsonly, struct timeval* timeout, LDAPMessage** res) {
  PGM_REAL(ldap_library, ldap_search_st);
  return real ? real(ld, base, scope, filter, attrs, attrsonly, timeout, res) : LDAP_OTHER;
}

int ldap_count_entries(LDAP* ld, LDAPMessage* chain) {
  PGM_REAL(ldap_library, ldap_count_entries);
  return real ? real(ld, chain) : -1;
}

LDAPMessage* ldap_first_entry(LDAP* ld, LDAPMessage* chain) {
  PGM_REAL(ldap_library, ldap_first_entry);
  return real ? real(ld, chain) : nullptr;
}

struct berval** ldap_get_values_len(LDAP* ld, LDAPMessage* entry, LDAP_CONST char* target) {
  PGM_REAL(ldap_library, ldap_get_values_len);
  return real ? real(ld, entry, target) : nullptr;
}

void ldap_value_free_len(struct berval** vals) {
  PGM_REAL(ldap_library, ldap_value_free_len);
  if (real) real(vals);
}

int ldap_msgfree(LDAPMessage* lm) {
  PGM_REAL(ldap_library, ldap_msgfree);
  return real ? real(lm) : -1;
}

int ldap_unbind(LDAP* ld) {
  PGM_REAL(ldap_library, ldap_unbind);
  return real ? real(ld) : LDAP_OTHER;
}

char* ldap_err2string(int err) {
  PGM_REAL(ldap_library, ldap_err2string);
  return real ? real(err) : const_cast<char*>("LDAP library " PGM_LDAP_SONAME " could not be loaded");
}

}  // extern "C"
