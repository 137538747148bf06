<?xml version="1.0" encoding="UTF-8"?>
<!-- The stylesheet Provost assembles from the xsl:template children of the before of
     bench/workloads.xml's Xslt1 (SPEC's worked example W1): the baselines raw_libxslt and
     saxon-js apply this file. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="organization[@type='primary']"><primaryOrg><xsl:value-of select="@name"/></primaryOrg></xsl:template>
  <xsl:template match="organization[@type='secondary']"><secondaryOrg><xsl:value-of select="@name"/></secondaryOrg></xsl:template>
</xsl:stylesheet>
