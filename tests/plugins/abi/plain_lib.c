/* An ordinary shared library that has nothing to do with Portcullis. */
__attribute__((visibility("default"))) int plain_lib_answer(void);
int plain_lib_answer(void)
{
    return 42;
}
