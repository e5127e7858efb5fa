/* Looks like a plugin but exports its descriptor under the wrong name. */
#include <portcullis/plugin.h>

PC_EXPORT const pc_plugin *portcullis_plugin_v0(void);
const pc_plugin *portcullis_plugin_v0(void)
{
    return NULL;
}
